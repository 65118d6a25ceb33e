// Prints every non-empty cell of a workbook as exceljs reads it: {"sheet": [["A1", value], ...]}.
// Used by tests/test_reader_exceljs.py; values are normalised to JSON (rich text joined, formula
// results taken, dates as ISO strings, errors as their text).
"use strict";
const ExcelJS = require("exceljs");

function plain(v) {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "object") {
    if (Array.isArray(v.richText)) return v.richText.map((r) => r.text).join("");
    if ("result" in v) return plain(v.result);
    if ("error" in v) return v.error;
    if ("text" in v) return v.text;
    return JSON.stringify(v);
  }
  return v;
}

async function main(path) {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(path);
  const out = {};
  wb.eachSheet((ws) => {
    const cells = [];
    ws.eachRow({ includeEmpty: false }, (row) => {
      row.eachCell({ includeEmpty: false }, (cell) => {
        const v = plain(cell.value);
        if (v !== null && v !== "") cells.push([cell.address, v]);
      });
    });
    out[ws.name] = cells;
  });
  process.stdout.write(JSON.stringify(out));
}

main(process.argv[2]).catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e));
  process.exit(1);
});
