import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real HTTP endpoint standing in for Slack's incoming webhook: records every POST it gets. */
export interface SlackReceiver {
  url: string;
  received: Array<{ path: string; body: string; json: { text?: string } }>;
  /** HTTP status to answer with (200 like Slack, 500 for an outage). */
  status: number;
  close(): Promise<void>;
}

export async function startSlackReceiver(): Promise<SlackReceiver> {
  const receiver: SlackReceiver = { url: '', received: [], status: 200, close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json = {};
      try {
        json = JSON.parse(body);
      } catch {
        /* recorded as-is */
      }
      receiver.received.push({ path: req.url ?? '', body, json });
      res.writeHead(receiver.status, { 'content-type': 'text/plain' }).end(receiver.status === 200 ? 'ok' : 'error');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T000/B000/XXXXSECRET`;
  receiver.close = () => new Promise((resolve) => server.close(() => resolve()));
  return receiver;
}
