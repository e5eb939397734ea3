/**
 * One mail transaction on an open, greeted connection (RFC 5321 §3.3):
 *
 *   [RSET]                      only on a reused connection: also proves it is alive
 *   MAIL FROM:<s> [params]
 *   RCPT TO:<r> [params]        for every recipient
 *   DATA → 354 → body "." → final reply
 *
 * With PIPELINING (RFC 2920) RSET, MAIL, every RCPT and DATA go out in one
 * write and the replies are read in order; DATA is the last command of the
 * group, as §3.1 requires. Without it, each command waits for its reply.
 * A refused or unanswered RSET fails the attempt at stage 'rset' either
 * way: no body was sent, so the pool may try a fresh connection at once.
 *
 * Who gets which answer:
 * - a refused RCPT: that recipient gets its own reply;
 * - a refused MAIL, DATA, or final reply: every recipient still in play;
 * - no reply (timeout, close, garbage): temporary for everyone not already
 *   refused — even after the body was sent, since we cannot know whether the
 *   server took it (a possible duplicate beats a lost message, RFC 1047).
 */
import { PostlineError } from '../core/errors.js';
import { encodeDataBody, headerHasNonAscii } from './body.js';
import type { Capabilities } from './capabilities.js';
import type { SmtpChannel } from './channel.js';
import { hasNonAscii, isSendableAddress, mailCommand, needsSmtputf8, rcptCommand } from './envelope.js';
import type { SmtpTimeouts } from './options.js';
import { classOf, failureFromError, failureFromReply, localFailure, outcomeFromFailure, outcomeFromReply } from './outcome.js';
import type { Reply } from './reply-reader.js';
import type { DeliveryResult, Destination, OutboundMessage, RecipientOutcome, SessionFailure, Stage } from './types.js';

export interface TransactionContext {
  channel: SmtpChannel;
  caps: Capabilities;
  destination: Destination;
  timeouts: SmtpTimeouts;
  /** Send RSET first (a reused connection). */
  reset: boolean;
  tlsFallback: boolean;
}

export async function runTransaction(ctx: TransactionContext, message: OutboundMessage): Promise<DeliveryResult> {
  const { channel, caps, destination: dest, timeouts: t } = ctx;
  const recipients = message.recipients;
  const outcomes: Array<RecipientOutcome | null> = recipients.map(() => null);
  const result = (failure: SessionFailure | null): DeliveryResult => ({
    destination: dest,
    // Anyone without an answer by now shares the failure (never happens without one).
    recipients: outcomes.map((o, i) => o ?? outcomeFromFailure(recipients[i]!, failure ?? internalGap(), dest)),
    failure,
    tls: channel.tls,
    tlsFallback: ctx.tlsFallback,
  });
  const failPending = (failure: SessionFailure, which: number[]): DeliveryResult => {
    for (const i of which) outcomes[i] = outcomeFromFailure(recipients[i]!, failure, dest);
    return result(failure);
  };
  const all = recipients.map((_, i) => i);

  if (ctx.reset && channel.hasUnreadInput) {
    // Unsolicited input on an idle connection: our next reply would be misread. Treated like a dead connection.
    channel.destroy();
    return failPending(failureFromError('rset', new PostlineError('ERR_DELIVERY_PROTOCOL', `${channel.name}: unexpected input on an idle connection`)), all);
  }
  // With PIPELINING, RSET rides in the same write as MAIL/RCPT/DATA: one write and one round trip fewer per reused message.
  const pipelinedReset = ctx.reset && caps.pipelining;
  if (ctx.reset && !pipelinedReset) {
    try {
      const reply = await command(channel, 'RSET', t.rset, 'RSET');
      // Any refusal of RSET says the connection, not the message, is bad: temporary.
      if (classOf(reply.code) !== 'success') {
        channel.destroy();
        return failPending(failureFromReply('rset', reply, true), all);
      }
    } catch (err) {
      return failPending(failureFromError('rset', err), all);
    }
  }

  // Local decisions, before anything about the message goes out.
  const size = message.size ?? message.body.length;
  if (message.sender !== null && !isSendableAddress(message.sender)) {
    return failPending(localFailure('local', 'ERR_DELIVERY_BAD_ADDRESS', 'permanent', '5.1.7', `invalid sender address ${JSON.stringify(message.sender)}`, 553), all);
  }
  if (caps.size !== null && caps.size > 0 && size > caps.size) {
    const text = `message size ${size} exceeds size limit ${caps.size} of server ${channel.name}`;
    return failPending(localFailure('local', 'ERR_DELIVERY_TOO_BIG', 'permanent', '5.3.4', text, 552), all);
  }
  if (needsSmtputf8(message, headerHasNonAscii(message.body)) && !caps.smtputf8) {
    const text = `SMTPUTF8 is required, but was not offered by host ${channel.name}`;
    return failPending(localFailure('local', 'ERR_DELIVERY_SMTPUTF8', 'permanent', '5.6.7', text, 553), all);
  }
  const useSmtputf8 = message.smtputf8 && caps.smtputf8;
  if (message.sender !== null && hasNonAscii(message.sender) && !useSmtputf8) {
    return failPending(localFailure('local', 'ERR_DELIVERY_SMTPUTF8', 'permanent', '5.6.7', `non-ASCII sender address needs SMTPUTF8`, 553), all);
  }
  const sendable: number[] = [];
  for (const i of all) {
    const r = recipients[i]!;
    if (isSendableAddress(r) && (useSmtputf8 || !hasNonAscii(r))) sendable.push(i);
    else outcomes[i] = outcomeFromFailure(r, localFailure('local', 'ERR_DELIVERY_BAD_ADDRESS', 'permanent', '5.1.3', `invalid recipient address ${JSON.stringify(r)}`, 553), dest);
  }
  if (sendable.length === 0) return result(null);

  const mail = mailCommand(message, caps, size, useSmtputf8);
  const rcpts = sendable.map((i) => rcptCommand(recipients[i]!, message, caps));
  const accepted: number[] = [];
  let stage: Stage = pipelinedReset ? 'rset' : 'mail';
  try {
    if (caps.pipelining) {
      channel.write([...(pipelinedReset ? ['RSET'] : []), mail, ...rcpts, 'DATA'].map((c) => `${c}\r\n`).join(''));
      if (pipelinedReset) {
        const reset = await read(channel, t.rset, 'RSET');
        // Any refusal of RSET says the connection, not the message, is bad: temporary. The rest of the group is never read.
        if (classOf(reset.code) !== 'success') {
          channel.destroy();
          return failPending(failureFromReply('rset', reset, true), sendable);
        }
        stage = 'mail';
      }
      const mailReply = await read(channel, t.mail, 'MAIL FROM');
      if (classOf(mailReply.code) !== 'success') {
        // The RCPT and DATA replies (503 bad sequence) are read only to stay in step.
        await skipReplies(channel, rcpts.length + 1, t);
        return failPending(failureFromReply('mail', mailReply), sendable);
      }
      stage = 'rcpt';
      for (const i of sendable) record(i, await read(channel, t.rcpt, 'RCPT TO'));
      stage = 'data';
      const dataReply = await read(channel, t.dataInit, 'DATA');
      if (accepted.length === 0) {
        // RFC 2920 §3.1: a server must refuse DATA without recipients; if it accepts anyway, end the empty message at once.
        if (dataReply.code === 354) await abortData(channel, t);
        return result(null);
      }
      if (dataReply.code !== 354) return failPending(failureFromReply('data', dataReply), accepted);
    } else {
      const mailReply = await command(channel, mail, t.mail, 'MAIL FROM');
      if (classOf(mailReply.code) !== 'success') return failPending(failureFromReply('mail', mailReply), sendable);
      stage = 'rcpt';
      for (let k = 0; k < rcpts.length; k++) record(sendable[k]!, await command(channel, rcpts[k]!, t.rcpt, 'RCPT TO'));
      if (accepted.length === 0) return result(null);
      stage = 'data';
      const dataReply = await command(channel, 'DATA', t.dataInit, 'DATA');
      if (dataReply.code !== 354) return failPending(failureFromReply('data', dataReply), accepted);
    }
    stage = 'message';
    await channel.writeBody(encodeDataBody(message.body), t.dataBlock);
    const final = await read(channel, t.dataEnd, 'end of DATA');
    for (const i of accepted) outcomes[i] = outcomeFromReply(recipients[i]!, 'message', final, dest);
    return result(classOf(final.code) === 'success' ? null : failureFromReply('message', final));
  } catch (err) {
    // Refused recipients keep their answer; the rest (unanswered or accepted) share the failure.
    const failure = failureFromError(stage, err);
    return failPending(
      failure,
      sendable.filter((i) => outcomes[i] === null),
    );
  }

  function record(i: number, reply: Reply): void {
    if (classOf(reply.code) === 'success') accepted.push(i);
    else outcomes[i] = outcomeFromReply(recipients[i]!, 'rcpt', reply, dest);
  }
}

/** Reads a reply; after a 421 the server is closing (RFC 5321 §3.8), so the connection is closed on our side too. */
async function read(channel: SmtpChannel, timeoutMs: number, what: string): Promise<Reply> {
  const reply = await channel.read(timeoutMs, what);
  if (reply.code === 421) channel.close();
  return reply;
}

async function command(channel: SmtpChannel, line: string, timeoutMs: number, what: string): Promise<Reply> {
  channel.write(`${line}\r\n`);
  return read(channel, timeoutMs, what);
}

/**
 * Ends a DATA that should not have been accepted with an empty message. Its
 * reply is irrelevant, and so is a failure to get one: the outcomes are
 * already decided, and a broken connection is simply not reused.
 */
async function abortData(channel: SmtpChannel, t: SmtpTimeouts): Promise<void> {
  channel.write('.\r\n');
  await read(channel, t.dataEnd, 'end of DATA').catch(() => undefined);
}

/** Reads and ignores the replies to the rest of a pipelined group (the last one answers DATA). */
async function skipReplies(channel: SmtpChannel, count: number, t: SmtpTimeouts): Promise<void> {
  try {
    for (let k = 0; k < count; k++) {
      const reply = await read(channel, t.rcpt, 'a pipelined command');
      if (k === count - 1 && reply.code === 354) await abortData(channel, t);
    }
  } catch {
    // The decisive reply is already in hand; the connection is simply not reused.
  }
}

function internalGap(): SessionFailure {
  return failureFromError('local', new PostlineError('ERR_DELIVERY_PROTOCOL', 'internal: recipient without an outcome'));
}
