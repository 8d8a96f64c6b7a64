export * from '../../devstack/test-tokens';
