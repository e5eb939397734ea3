/**
 * Webhook delivery (a `delivery.routes` value that is an http(s) URL): the
 * message is POSTed as message/rfc822, the envelope in headers. The answer
 * maps onto SMTP's classes so the queue treats both alike:
 *   2xx                       → delivered
 *   408, 429, 5xx, no answer  → temporary (retried per delivery.retry)
 *   other 4xx (and 3xx)       → permanent (bounced)
 * Uses the runtime's fetch (undici in Node), with a timeout.
 */
import type { OutboundMessage } from './types.js';

export const WEBHOOK_TIMEOUT_MS = 60_000;

export type WebhookResult = { status: 'delivered' | 'temporary' | 'permanent'; text: string };

export async function deliverWebhook(url: string, message: OutboundMessage, timeoutMs = WEBHOOK_TIMEOUT_MS): Promise<WebhookResult> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'message/rfc822',
        'x-postline-sender': message.sender ?? '<>',
        // Recipients are addresses (no commas inside after our parsing), so a comma list is unambiguous.
        'x-postline-recipients': message.recipients.join(','),
      },
      body: message.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    return { status: 'temporary', text: `webhook ${url}: ${(err as Error).name === 'TimeoutError' ? 'timed out' : (err as Error).message}` };
  }
  // Drain the body so the connection can be reused; its content does not matter.
  await response.arrayBuffer().catch(() => undefined);
  const text = `webhook ${url} answered ${response.status}`;
  if (response.status >= 200 && response.status < 300) return { status: 'delivered', text };
  if (response.status === 408 || response.status === 429 || response.status >= 500) return { status: 'temporary', text };
  return { status: 'permanent', text };
}
