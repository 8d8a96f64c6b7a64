import { nextSendId } from '../../worker/unsettled-actions';

test("an unsettled action's reruns take the ids a client's retry under its key takes", () => {
  expect(nextSendId('upd_1')).toBe('upd_1.2');
  expect(nextSendId('upd_1.2')).toBe('upd_1.3');
  expect(nextSendId('upd_1.9')).toBe('upd_1.10');
  // Written under a client's retry id already: the next is the client's next too.
  expect(nextSendId('upd_ab12.3')).toBe('upd_ab12.4');
  expect(nextSendId('c0ffee-uuid')).toBe('c0ffee-uuid.2');
});
