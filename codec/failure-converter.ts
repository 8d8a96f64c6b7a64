/**
 * Failures as Temporal carries them, with every string made encodable. A failure's message and
 * stack trace are protobuf strings, which must be valid UTF-8: one lone surrogate from a client
 * (`"couponCode": "\ud800"` in a message) made the worker's completion undecodable, and the
 * worker failed, restarted, replayed the same task and failed again, for every order it held.
 * The code keeps client strings out of messages (they go in details, which are JSON payloads);
 * this converter is the net under that rule, in the workflow sandbox, the activities and the
 * client alike (codec/data-converter.ts).
 */
import { DefaultFailureConverter, type PayloadConverter, type ProtoFailure } from '@temporalio/common';
import { storable } from '../domain/text';

function scrub(failure: ProtoFailure | null | undefined): void {
  for (let f = failure; f; f = f.cause) {
    if (f.message) f.message = storable(f.message);
    if (f.stackTrace) f.stackTrace = storable(f.stackTrace);
    if (f.source) f.source = storable(f.source);
    if (f.applicationFailureInfo?.type)
      f.applicationFailureInfo.type = storable(f.applicationFailureInfo.type);
  }
}

export class StorableFailureConverter extends DefaultFailureConverter {
  override errorToFailure(
    err: unknown,
    payloadConverter: PayloadConverter,
    ...rest: unknown[]
  ): ProtoFailure {
    const failure = (super.errorToFailure as (...args: unknown[]) => ProtoFailure)(
      err,
      payloadConverter,
      ...rest,
    );
    scrub(failure);
    return failure;
  }
}

/** Loaded by path (`failureConverterPath`), so the workflow bundle has it too. */
export const failureConverter = new StorableFailureConverter();
