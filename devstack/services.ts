/** The service's own processes (the worker, the API) and the sandbox services, run as children with a prefixed log. */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');

export type ServiceName = 'worker' | 'api' | 'payments' | 'warehouse';
const ENTRY: Record<ServiceName, string> = {
  worker: 'worker/main.ts',
  api: 'api/main.ts',
  payments: 'sandboxes/payments/main.ts',
  warehouse: 'sandboxes/warehouse/main.ts',
};

export interface ServiceOptions {
  env: NodeJS.ProcessEnv;
  /** Receives every line the child prints; default: this process's stdout with a `[name]` prefix. */
  log?: (line: string) => void;
}

export function spawnService(name: ServiceName, options: ServiceOptions): ChildProcess {
  // The bench's --profile: the service's own processes write V8 CPU profiles there when they exit.
  const profile = options.env.CPU_PROFILE_DIR && (name === 'worker' || name === 'api');
  const profiling = profile ? ['--cpu-prof', `--cpu-prof-dir=${options.env.CPU_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profiling, '--import', 'tsx', path.join(ROOT, ENTRY[name])], {
    cwd: ROOT,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = options.log ?? ((line: string) => process.stdout.write(`[${name}] ${line}\n`));
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line) log(line);
    });
  }
  return child;
}
