import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import dnsPacket from 'dns-packet';

/**
 * A tiny authoritative DNS responder on loopback UDP for tests: every A query
 * answers 127.0.0.1, TXT answers come from `setTxt` or from a file of
 * "fqdn value" lines (written by lego's exec provider), SOA is faked so
 * clients that look for the zone find one.
 */
export interface TestDnsServer {
  /** HOST:PORT for --dns-server / --dns.resolvers. */
  address: string;
  setTxt(name: string, values: string[]): void;
  addTxt(name: string, value: string): void;
  close(): Promise<void>;
}

export async function startDnsServer(o: { txtFile?: string } = {}): Promise<TestDnsServer> {
  const txt = new Map<string, string[]>();
  const norm = (n: string) => n.toLowerCase().replace(/\.$/, '');
  const fileTxt = (name: string): string[] => {
    if (!o.txtFile) return [];
    let text = '';
    try {
      text = readFileSync(o.txtFile, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((p) => p.length === 2 && norm(p[0]!) === name)
      .map((p) => p[1]!);
  };
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    let q: dnsPacket.Packet;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    if (!question) return;
    const name = norm(question.name);
    const answers: dnsPacket.Answer[] = [];
    if (question.type === 'A') answers.push({ type: 'A', name: question.name, ttl: 1, data: '127.0.0.1' });
    if (question.type === 'TXT') {
      for (const v of [...(txt.get(name) ?? []), ...fileTxt(name)]) answers.push({ type: 'TXT', name: question.name, ttl: 1, data: v });
    }
    if (question.type === 'SOA') {
      answers.push({ type: 'SOA', name: question.name, ttl: 1, data: { mname: 'ns.test', rname: 'hostmaster.test', serial: 1, refresh: 60, retry: 60, expire: 60, minimum: 1 } });
    }
    const reply = dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER | ((q.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers });
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const port = (socket.address() as AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    setTxt: (name, values) => void txt.set(norm(name), values),
    addTxt: (name, value) => void txt.set(norm(name), [...(txt.get(norm(name)) ?? []), value]),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
