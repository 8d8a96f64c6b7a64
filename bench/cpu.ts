/**
 * Where the machine's CPU goes while the bench drives orders: CPU time per process tree, read
 * from /proc (Linux; elsewhere every figure is 0). On two shared cores throughput is bought with
 * CPU, so this shows which process an order's cost sits in.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux the service runs on

/** pid → parent and CPU ticks (user + system, all threads) so far. */
type Sample = Map<number, { ppid: number; ticks: number }>;

export function sampleCpu(): Sample {
  const sample: Sample = new Map();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return sample;
  }
  for (const name of entries) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name may hold spaces and parentheses: the fields start after its last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sample.set(Number(name), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // exited between the listing and the read
    }
  }
  return sample;
}

/**
 * CPU seconds spent between two samples by each group's process trees (a group is named by its
 * root pids; a process counts for the nearest root above it), and by everything else ('other').
 */
export function cpuSecondsByGroup(
  before: Sample,
  after: Sample,
  groups: Record<string, (number | undefined)[]>,
): Record<string, number> {
  const rootGroup = new Map<number, string>();
  for (const [group, pids] of Object.entries(groups))
    for (const pid of pids) if (pid !== undefined) rootGroup.set(pid, group);
  const groupOf = (pid: number): string => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
      const group = rootGroup.get(p);
      if (group) return group;
      p = after.get(p)?.ppid ?? 0;
    }
    return 'other';
  };
  const seconds: Record<string, number> = { other: 0 };
  for (const group of Object.keys(groups)) seconds[group] = 0;
  for (const [pid, { ticks }] of after) {
    const spent = (ticks - (before.get(pid)?.ticks ?? 0)) / TICKS_PER_SECOND;
    if (spent > 0) seconds[groupOf(pid)]! += spent;
  }
  return seconds;
}
