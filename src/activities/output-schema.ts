/**
 * True when OpenAI's strict structured outputs can take this JSON schema as it is: every object lists all its
 * properties as required and allows no others. Then the provider guarantees the shape; otherwise the schema is sent
 * as guidance (`strict: false`), and the worker's check (with a bounded retry) holds the answer to it.
 */
export function isStrictSchema(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.every(isStrictSchema);
  if (typeof schema !== 'object' || schema === null) return true;
  const node = schema as Record<string, unknown>;
  if (node.type === 'object' || node.properties !== undefined) {
    const keys = Object.keys((node.properties ?? {}) as Record<string, unknown>);
    const required = new Set(Array.isArray(node.required) ? (node.required as unknown[]) : []);
    if (node.additionalProperties !== false || !keys.every((key) => required.has(key))) return false;
  }
  return Object.values(node).every(isStrictSchema);
}
