import { fromPem } from '../../../src/x509/x509.ts';
import { makeCsr } from '../../helpers/ca.ts';

/** base64url DER of a fresh CSR for these DNS names, as finalize wants it (§7.4). */
export async function csrFor(names: string[]): Promise<string> {
  const { pem } = await makeCsr({ sans: names.map((value) => ({ type: 'dns' as const, value })) });
  return Buffer.from(fromPem(pem, 'CERTIFICATE REQUEST')[0]!).toString('base64url');
}
