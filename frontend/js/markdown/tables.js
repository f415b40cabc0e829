// GFM tables: the delimiter row that makes a paragraph's last line a header, and rows
// split into cells on unescaped pipes.

const reDelimiterCell = /^:?-+:?$/;

/** The cells of one row: outer pipes dropped, split on `|` not preceded by a backslash. */
export function splitRow(line) {
  let text = line.trim();
  if (text.startsWith('|')) text = text.slice(1);
  if (text.endsWith('|') && !text.endsWith('\\|')) text = text.slice(0, -1);
  const cells = [];
  let cell = '';
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '\\' && text[i + 1] === '|') {
      cell += '|';
      i += 1;
    } else if (c === '|') {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += c;
    }
  }
  cells.push(cell.trim());
  return cells;
}

/** Column alignments ('left' | 'center' | 'right' | null) of a delimiter row, or null. */
export function parseDelimiterRow(line) {
  if (!line.includes('|') || !line.includes('-')) return null;
  const cells = splitRow(line);
  if (!cells.every((cell) => reDelimiterCell.test(cell))) return null;
  return cells.map((cell) => {
    const left = cell.startsWith(':');
    const right = cell.endsWith(':');
    if (left && right) return 'center';
    if (right) return 'right';
    return left ? 'left' : null;
  });
}
