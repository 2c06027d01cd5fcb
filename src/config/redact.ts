/**
 * Removes secrets from text that is about to leave the process (error messages, logs, Slack).
 * Known secrets are replaced wherever they appear, in raw and percent-encoded form; URI
 * credentials and `password=` parameters are masked even when the secret is unknown.
 */
export function redact(text: string, secrets: Iterable<string | undefined> = []): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret || secret.length < 3) continue; // a 1-2 char "secret" would mask half the text
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      out = out.split(form).join('***');
    }
  }
  return out.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@]*@/gi, '$1***@').replace(/(password\s*=\s*)('[^']*'|"[^"]*"|[^\s&]+)/gi, '$1***');
}
