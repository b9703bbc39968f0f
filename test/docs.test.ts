import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const contributing = readFileSync(path.join(root, 'CONTRIBUTING.md'), 'utf8');

test("the contributors' layout names every file of the workflow sandbox", () => {
  const start = contributing.indexOf('## Layout');
  const end = contributing.indexOf('\n## ', start + 1);
  expect(start).toBeGreaterThanOrEqual(0);
  const layout = contributing.slice(start, end === -1 ? undefined : end);
  const files = readdirSync(path.join(root, 'src/workflows')).filter((file) => file.endsWith('.ts'));
  expect(files.filter((file) => !layout.includes(file))).toEqual([]);
});
