// The mail a requester gets when their limit request is decided (pure: the text only).

import type { LimitRequest } from './limit-request';

/** Header values carry only what diycloud produced (id, resource, canonical amount, state): no line breaks. */
const headerSafe = (s: string): string => s.replace(/[\r\n]+/g, ' ');

/** The whole message for sendmail's stdin: To, Subject, a blank line, the body. */
export function decisionMail(r: LimitRequest, recipient: string, deciderName: string): string {
  const verdict = r.state === 'approved' ? 'approved' : 'denied';
  const subject = headerSafe(`diycloud: your request ${r.id} (${r.resource} ${r.amount}) was ${verdict}`);
  const lines = [
    `Your request ${r.id} for ${r.resource} ${r.amount}, filed ${r.filedAt}, was ${verdict} by ${deciderName} at ${r.decidedAt ?? ''}.`,
    r.state === 'approved' ? 'The new limit is in force now.' : '',
    r.decisionReason ? `Reason: ${r.decisionReason}` : '',
    '',
    `Your reason was: ${r.reason}`,
  ].filter((l, i) => l !== '' || i === 3);
  return [`To: ${headerSafe(recipient)}`, `Subject: ${subject}`, 'Content-Type: text/plain; charset=utf-8', '', ...lines, ''].join('\n');
}
