/** The test HTTP client lives in devstack/ so the history recorder can use it too. */
export * from '../../devstack/api-calls';
