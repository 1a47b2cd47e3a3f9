import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { malformed, problemName, rejectedIdentifier, serverInternal, unauthorized } from '../../src/acme/problems.ts';
import { CaError, type CaErrorKind } from '../../src/domain/errors.ts';
import { silentLogger } from '../../src/domain/log.ts';
import { toProblem } from '../../src/http/problem.ts';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const URN = 'urn:ietf:params:acme:' + 'error:';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.(ts|js)$/.test(e.name) ? [join(dir, e.name)] : []));
}

/** RFC 8555 §6.7 problems come from their constructors in src/acme/problems.ts and nowhere else. */
describe('ACME problems', () => {
  it('ok/no source file but problems.ts spells out an ACME error type', () => {
    const offenders = sourceFiles(SRC).filter((f) => relative(SRC, f) !== join('acme', 'problems.ts') && readFileSync(f, 'utf8').includes(URN));
    expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
  });

  it('ok/embedded errors and subproblems have the shapes orders, challenges and newOrder send', () => {
    expect(serverInternal('issuance failed').embedded()).toEqual({ type: `${URN}serverInternal`, detail: 'issuance failed', status: 500 });
    expect(unauthorized('gone').embedded()).toEqual({ type: `${URN}unauthorized`, detail: 'gone', status: 403 });
    expect(malformed('the order expired').embedded()).toEqual({ type: `${URN}malformed`, detail: 'the order expired', status: 400 });
    const id = { type: 'dns', value: 'a.example' };
    expect(rejectedIdentifier('outside the account scopes').about(id)).toEqual({ type: `${URN}rejectedIdentifier`, detail: 'outside the account scopes', identifier: id });
    expect(serverInternal().detail).toBe('the server could not complete the request');
    expect([problemName(`${URN}rateLimited`), problemName('none')]).toEqual(['rateLimited', 'none']);
  });

  it('ok/CaError kinds become the same problem types and statuses as before; anything else is a bare 500', () => {
    const as = (kind: CaErrorKind) => {
      const p = toProblem(new CaError(kind, 'why'), silentLogger);
      return [problemName(p.type), p.status, p.detail];
    };
    expect(as('badCsr')).toEqual(['badCSR', 400, 'why']);
    expect(as('badKey')).toEqual(['badCSR', 400, 'why']);
    expect(as('rejectedIdentifier')).toEqual(['rejectedIdentifier', 400, 'why']);
    expect(as('malformed')).toEqual(['malformed', 400, 'why']);
    expect(as('notFound')).toEqual(['malformed', 404, 'why']);
    expect(as('conflict')).toEqual(['malformed', 409, 'why']);
    expect(as('alreadyRevoked')).toEqual(['alreadyRevoked', 400, 'why']);
    expect(as('unauthorized')).toEqual(['unauthorized', 403, 'why']);
    expect(as('keyStore')).toEqual(['serverInternal', 500, 'the server could not complete the request']);
    expect(toProblem(new Error('secret'), silentLogger).detail).not.toContain('secret');
  });
});
