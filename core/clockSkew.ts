/**
 * How far two members' clocks may disagree, in one place: sealed messages carry their sender's
 * wall-clock time, certificates and revocations their signing time, and each is judged against
 * the receiver's clock. With two budgets (a 10-minute one for certificates and a 60 s one for
 * messages) two members 61 s apart accepted each other's certificates yet dropped every message
 * between them; with one, a member is either usable or told why not.
 *
 * One minute: machines that keep time (NTP, systemd-timesyncd, phones) agree to well under a
 * second, and an unsynchronised clock that has drifted further should be fixed, not tolerated.
 */
export const MAX_CLOCK_SKEW_MS = 60_000;

/** "75 s ahead of", "2 min 5 s behind": how a clock `skewMs` off (positive: ahead) compares. */
export function describeSkew(skewMs: number): string {
  const s = Math.round(Math.abs(skewMs) / 1000);
  const amount = s < 120 ? `${s} s` : `${Math.floor(s / 60)} min${s % 60 === 0 ? '' : ` ${s % 60} s`}`;
  return `${amount} ${skewMs >= 0 ? 'ahead of' : 'behind'}`;
}

/** What follows a skew in a message: the budget it exceeds. */
export const SKEW_ALLOWANCE = `overlay allows ${MAX_CLOCK_SKEW_MS / 1000} s`;

/** The advice that goes with it. */
export const SKEW_HINT = 'set the clocks right (e.g. enable NTP on both machines)';
