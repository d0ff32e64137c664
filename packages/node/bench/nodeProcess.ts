import type { ChildProcess } from 'node:child_process';

/** The FHIR base URL a node started as a child process prints once it listens (its stdout must be piped). */
export function baseUrlOf(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /FHIR base URL\s+(\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`node exited (${code}) before it was ready`)));
  });
}
