/**
 * mbox export (mboxrd flavour): each message starts with a "From " line; body
 * lines matching /^>*From / get one more '>' so the file can be split again
 * without ambiguity. Flags travel in the Status / X-Status / X-Keywords
 * headers that mutt and Dovecot read; the folder in X-Postline-Folder.
 */
const FROM_LINE = /^(>*From )/gm;

export function mboxEntry(body: Buffer, info: { folder: string; internalDate: number; flags: string[]; sender?: string }): Buffer {
  const text = body.toString('latin1').replace(/\r\n/g, '\n');
  const split = text.indexOf('\n\n');
  const head = split >= 0 ? text.slice(0, split + 1) : text.endsWith('\n') ? text : text + '\n';
  const rest = split >= 0 ? text.slice(split + 1) : '\n';
  const flags = new Set(info.flags.map((f) => f.toLowerCase()));
  const status = (flags.has('\\seen') ? 'R' : '') + 'O';
  const xstatus = (flags.has('\\answered') ? 'A' : '') + (flags.has('\\flagged') ? 'F' : '') + (flags.has('\\draft') ? 'T' : '') + (flags.has('\\deleted') ? 'D' : '');
  const keywords = info.flags.filter((f) => !f.startsWith('\\'));
  const extra =
    `X-Postline-Folder: ${info.folder}\n` +
    `Status: ${status}\n` +
    (xstatus ? `X-Status: ${xstatus}\n` : '') +
    (keywords.length ? `X-Keywords: ${keywords.join(' ')}\n` : '');
  const from = `From ${info.sender ?? 'MAILER-DAEMON'} ${new Date(info.internalDate).toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) (\S+) GMT$/, '$1 $3 $2 $5 $4')}\n`;
  const quoted = (head + extra + rest).replace(FROM_LINE, '>$1');
  return Buffer.from(from + quoted + (quoted.endsWith('\n') ? '' : '\n') + '\n', 'latin1');
}
