import { nextSendId } from '../../worker/unsettled-actions';

test("an unsettled action's reruns take the ids a client's retry under its key takes", () => {
  expect(nextSendId('upd_1', 'upd_1')).toBe('upd_1.2');
  expect(nextSendId('upd_1', 'upd_1.2')).toBe('upd_1.3');
  expect(nextSendId('a.b', 'a.b.9')).toBe('a.b.10');
});
