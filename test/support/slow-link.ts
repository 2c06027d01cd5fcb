import net from 'node:net';

export interface SlowLink {
  /** Where to connect instead of the server (127.0.0.1). */
  port: number;
  /** Bytes per second from the server to the client; Infinity lifts the limit. */
  setRate(bytesPerSecond: number): void;
  close(): Promise<void>;
}

/**
 * A slow network link to a TCP server: what the server sends reaches the client at
 * `bytesPerSecond` (in 50 ms slices); what the client sends passes at once. Lets a test
 * watch a real pg_dump of a small database take as long as a big one does, bytes flowing
 * steadily all the while, and then let it finish at full speed.
 */
export async function startSlowLink(target: { host: string; port: number }, bytesPerSecond: number): Promise<SlowLink> {
  let rate = bytesPerSecond;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    const queue: Buffer[] = [];
    let queued = 0;
    const tick = setInterval(() => {
      let budget = rate === Infinity ? queued : Math.max(1, Math.floor(rate / 20));
      while (budget > 0 && queue.length) {
        const head = queue[0];
        const piece = head.subarray(0, budget);
        if (piece.length === head.length) queue.shift();
        else queue[0] = head.subarray(piece.length);
        queued -= piece.length;
        budget -= piece.length;
        client.write(piece);
      }
      // Back-pressure: read more from the server only when little is waiting here.
      if (queued < 1024 * 1024 && upstream.isPaused()) upstream.resume();
      if (upstream.readableEnded && queued === 0) client.end();
    }, 50);
    upstream.on('data', (chunk: Buffer) => {
      queue.push(chunk);
      queued += chunk.length;
      if (queued >= 1024 * 1024) upstream.pause();
    });
    const close = () => {
      clearInterval(tick);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', () => {
      if (queued === 0) close();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    setRate: (bytes) => (rate = bytes),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
