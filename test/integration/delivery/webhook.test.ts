import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { deliverWebhook } from '../../../src/delivery/webhook.js';

test('webhook delivery: raw message POSTed with the envelope in headers; status classes map to delivered/temporary/permanent', async () => {
  const received: { headers: IncomingMessage['headers']; body: Buffer }[] = [];
  let status = 200;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.statusCode = status;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/in`;
  const body = Buffer.from('Subject: hi\r\n\r\nbody with 8bit \xe9\r\n', 'latin1');
  const message = { sender: 'a@example.org', recipients: ['x@hook.example', 'y@hook.example'], body, smtputf8: false, body8bit: true };
  try {
    assert.equal((await deliverWebhook(url, message)).status, 'delivered');
    assert.ok(received[0]!.body.equals(body));
    assert.equal(received[0]!.headers['content-type'], 'message/rfc822');
    assert.equal(received[0]!.headers['x-postline-sender'], 'a@example.org');
    assert.equal(received[0]!.headers['x-postline-recipients'], 'x@hook.example,y@hook.example');
    for (const [code, expected] of [[503, 'temporary'], [429, 'temporary'], [408, 'temporary'], [404, 'permanent'], [400, 'permanent'], [204, 'delivered']] as const) {
      status = code;
      assert.equal((await deliverWebhook(url, message)).status, expected, `HTTP ${code}`);
    }
  } finally {
    server.close();
  }
  // Nobody listening: temporary.
  assert.equal((await deliverWebhook(url, message)).status, 'temporary');
});
