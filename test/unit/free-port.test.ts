/** devstack/wait.ts: the ports a stack is given are distinct, however many it asks for. */
import { freePort } from '../../devstack/wait';

test('freePort never gives the same port twice in a process (a stack and its cluster ask a minute apart)', async () => {
  // 300 draws from about 12,000 ports: without the rule, some two would very likely be the same.
  const ports: number[] = [];
  for (let i = 0; i < 300; i++) ports.push(await freePort());
  expect(new Set(ports).size).toBe(ports.length);
});
