/**
 * A request to cancel a workflow (the Temporal Web UI's "Request Cancellation", or any client's)
 * is heard, not obeyed: left to itself it would end the workflow where it stands, without the
 * compensations its own cancel runs, and whatever waits on it (an order on its return) would wait
 * for ever. What `shielded` runs goes on regardless; `onRequest` is told once, and the workflow
 * then does what its own cancel means, as support would through the API, or says why it cannot.
 */
import { CancellationScope, log, setCurrentDetails } from '@temporalio/workflow';
import type { ApplicationFailure } from '@temporalio/common';

/** Who takes a cancellation request, in the history and the records: support, from Temporal. */
export const CANCELLATION_REQUEST = {
  actor: { id: 'temporal', role: 'support' },
  reason: 'cancellation requested in Temporal',
} as const;

/** Runs `fn` out of reach of a cancellation request, once `enabled` (a patch decided at start). */
export type Shielded = <T>(fn: () => Promise<T>) => Promise<T>;

export function cancellationRequests(enabled: boolean, onRequest: () => void): Shielded {
  if (enabled) CancellationScope.current().cancelRequested.catch(() => onRequest());
  return (fn) => (enabled ? CancellationScope.nonCancellable(fn) : fn());
}

/** What support reads in the current details when a request was not taken. */
export function notTakenLine(failure: ApplicationFailure): string {
  return `A cancellation request was not taken: ${failure.type ?? 'failed'}: ${failure.message}`;
}

/**
 * A case's cancellation request (a return, a claim, an exchange): `take` performs the case's own
 * refusal of it (reject, cancel) as support; refused, the case goes on and its details say why.
 * `taking` is the request under way, for the case to let finish before it ends.
 */
export function caseCancellation(
  enabled: boolean,
  kind: string,
  status: () => string,
  take: () => Promise<unknown>,
  asFailure: (err: unknown) => ApplicationFailure,
): { shielded: Shielded; taking: () => Promise<void> | undefined } {
  let taking: Promise<void> | undefined;
  const shielded = cancellationRequests(enabled, () => {
    taking = shielded(async () => {
      try {
        await take();
      } catch (err) {
        const failure = asFailure(err);
        log.warn(`a cancellation request on a ${kind} was not taken`, {
          status: status(),
          type: failure.type,
        });
        setCurrentDetails(`**${status()}**\n\n${notTakenLine(failure)}`);
      }
    });
  });
  return { shielded, taking: () => taking };
}
