/** `text` on one line, cut to `max` characters: for summaries in the Temporal UI. */
export function oneLine(text: string, max = 80): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** A run's content as text: itself, or a structured answer (an `outputSchema` run's) as JSON; empty when none. */
export function contentText(content: unknown): string {
  if (content === null || content === undefined) return '';
  return typeof content === 'string' ? content : JSON.stringify(content);
}
