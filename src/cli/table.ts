// Plain-text tables for the terminal: columns padded to their widest cell, two spaces apart, no
// trailing blanks, so the output also reads well piped into grep or a file.

/**
 * @example
 * formatTable(['METHOD', 'PATH'], [['GET', '/']]);
 * // 'METHOD  PATH\nGET     /'
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
