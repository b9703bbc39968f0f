import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

test("the README's layout names every file of the workflow sandbox", () => {
  const layout = readme.slice(readme.indexOf('## Layout'), readme.indexOf('temporal-dev.sh  finds'));
  const files = readdirSync(path.join(root, 'src/workflows')).filter((file) => file.endsWith('.ts'));
  expect(files.filter((file) => !layout.includes(file))).toEqual([]);
});
