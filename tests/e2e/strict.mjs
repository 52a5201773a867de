// Strict application of Electric change messages, shared by the end-to-end
// tests: an insert of a key already there, or an update or delete of a key
// that is not, is an error (a change lost or delivered twice), which a
// map-based materialiser such as the client's Shape would hide.
export function strictApply(rows, m, errors) {
  const k = m.key
  const op = m.headers.operation
  if (op === 'insert') {
    if (rows.has(k)) errors.push(`insert of present ${k}`)
    rows.set(k, { ...m.value })
  } else if (op === 'update') {
    if (!rows.has(k)) errors.push(`update of absent ${k}`)
    else rows.set(k, { ...rows.get(k), ...m.value })
  } else if (op === 'delete') {
    if (!rows.has(k)) errors.push(`delete of absent ${k}`)
    rows.delete(k)
  } else {
    errors.push(`unknown operation ${op} for ${k}`)
  }
}
