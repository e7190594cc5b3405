/**
 * AMQP topic matching: words separated by '.', '*' matches exactly one word, '#' zero or more.
 * Patterns are split once when bound; keys are split per publish (callers cache results).
 */
export function compileTopic(pattern: string): string[] {
  return splitTopic(pattern);
}

/** As RabbitMQ: the empty key has no words at all (so '#' matches it and '*' does not). */
export function splitTopic(key: string): string[] {
  return key === '' ? [] : key.split('.');
}

export function topicMatches(pattern: readonly string[], words: readonly string[]): boolean {
  return match(pattern, 0, words, 0);
}

function match(p: readonly string[], pi: number, w: readonly string[], wi: number): boolean {
  while (pi < p.length) {
    const part = p[pi]!;
    if (part === '#') {
      // Collapse consecutive '#'; then try every split point for the rest.
      while (pi + 1 < p.length && p[pi + 1] === '#') pi++;
      if (pi + 1 === p.length) return true;
      for (let k = wi; k <= w.length; k++) if (match(p, pi + 1, w, k)) return true;
      return false;
    }
    if (wi >= w.length) return false;
    if (part !== '*' && part !== w[wi]) return false;
    pi++;
    wi++;
  }
  return wi === w.length;
}
