// Run by crash-serve.test.ts in a child process: acts on the instance (issue, revoke), then is
// SIGKILLed before any checkpoint is signed, as a crash between the act and its checkpoint is.
import { openInstance } from '../../src/index.ts';
import { makeCsr, TEST_PASSPHRASE } from '../helpers/ca.ts';

const dir = process.argv[2]!;
const ca = await openInstance({ dir, env: { PKI_PASSPHRASE: TEST_PASSPHRASE } });
const serials: string[] = [];
for (let i = 0; i < 3; i++) serials.push((await ca.authority.issue((await makeCsr({ sans: [{ type: 'dns', value: `k${i}.kill.test` }] })).pem)).serial);
await ca.authority.revoke(serials[1]!, { reason: 'keyCompromise' });
process.stdout.write(JSON.stringify({ serials, size: ca.store.audit.log.size(), signed: ca.store.audit.log.latestCheckpoint()?.size }) + '\n', () => process.kill(process.pid, 'SIGKILL'));
