/** The docs/ files that runs write (benchmarks, chaos), formatted as `npm run lint` expects them. */
import { writeFile } from 'node:fs/promises';
import { format, resolveConfig } from 'prettier';

export async function writeDoc(file: string, markdown: string): Promise<void> {
  await writeFile(file, await format(markdown, { ...(await resolveConfig(file)), filepath: file }));
}
