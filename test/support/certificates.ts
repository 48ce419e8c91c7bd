/** Test certificates made with openssl: a CA and certificates it signed. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * In `dir`: a CA (`<name>-ca.crt`, `.key`) and, for each of `signed`, `<cert>.crt` and `<cert>.key`
 * signed by it, valid for the names of `subjectAltName` (such as `DNS:localhost,IP:127.0.0.1`).
 * A certificate called `server` has the common name `localhost`, the others `crema`.
 */
export function makeCa(dir: string, name: string, signed: readonly string[], subjectAltName = 'DNS:localhost'): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...key, '-keyout', `${name}-ca.key`, '-out', `${name}-ca.crt`, '-days', '2', '-subj', `/CN=Crema test CA ${name}`);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${subjectAltName}\n`);
  for (const cert of signed) {
    openssl('req', ...key, '-keyout', `${cert}.key`, '-out', `${cert}.csr`, '-subj', `/CN=${cert === 'server' ? 'localhost' : 'crema'}`);
    openssl('x509', '-req', '-in', `${cert}.csr`, '-CA', `${name}-ca.crt`, '-CAkey', `${name}-ca.key`, '-CAcreateserial', '-out', `${cert}.crt`, '-days', '2', '-extfile', `${name}.ext`);
  }
}
