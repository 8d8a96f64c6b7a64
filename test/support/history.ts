/** Reading a workflow's event history as support staff see it in the Web UI. */
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { codecFor } from '../../codec/data-converter';
import { loadConfig } from '../../config';

export interface EventSummary {
  type: 'activity' | 'local activity' | 'timer' | 'child';
  summary: string | undefined;
}

/** The user-metadata summary of each scheduled activity, local activity (its marker), timer and child workflow, decrypted like the UI's codec server does. */
export async function eventSummaries(handle: WorkflowHandle): Promise<EventSummary[]> {
  const codec = codecFor(loadConfig(process.env));
  const decode = async (payload: Payload | null | undefined) => {
    if (!payload) return undefined;
    const [plain] = codec ? await codec.decode([payload]) : [payload];
    return defaultPayloadConverter.fromPayload<string>(plain!);
  };
  const { events } = await handle.fetchHistory();
  const out: EventSummary[] = [];
  for (const e of events ?? []) {
    const type = e.activityTaskScheduledEventAttributes
      ? 'activity'
      : e.markerRecordedEventAttributes?.markerName === 'core_local_activity'
        ? 'local activity'
        : e.timerStartedEventAttributes
          ? 'timer'
          : e.startChildWorkflowExecutionInitiatedEventAttributes
            ? 'child'
            : null;
    if (type) out.push({ type, summary: await decode(e.userMetadata?.summary as Payload | undefined) });
  }
  return out;
}

/** The Updates a workflow accepted, in order (refused ones leave nothing in the history). */
export async function acceptedUpdates(handle: WorkflowHandle): Promise<{ name: string; updateId: string }[]> {
  const { events } = await handle.fetchHistory();
  return (events ?? []).flatMap((e) => {
    const request = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
    return request ? [{ name: request.input?.name ?? '', updateId: request.meta?.updateId ?? '' }] : [];
  });
}

/** The names of the signals a workflow received, in order. */
export async function receivedSignals(handle: WorkflowHandle): Promise<string[]> {
  const { events } = await handle.fetchHistory();
  return (events ?? []).flatMap((e) =>
    e.workflowExecutionSignaledEventAttributes
      ? [e.workflowExecutionSignaledEventAttributes.signalName ?? '']
      : [],
  );
}
