// The attributes panel: the dataset's global attributes and the shown variable's, as stored.

type Attributes = Readonly<Record<string, unknown>>

/** Fills `panel` with one table per set of attributes, in the order given. */
export function renderAttributes(
  panel: HTMLElement,
  sections: readonly { title: string; attributes: Attributes }[],
): void {
  panel.replaceChildren(
    ...sections.map(({ title, attributes }) => {
      const section = document.createElement('section')
      const heading = document.createElement('h3')
      heading.textContent = title
      const table = document.createElement('table')
      const names = Object.keys(attributes).sort()
      for (const name of names) {
        const row = table.insertRow()
        const key = document.createElement('th')
        key.scope = 'row'
        key.textContent = name
        row.append(key)
        row.insertCell().textContent = attributeText(attributes[name])
      }
      if (names.length === 0) table.insertRow().insertCell().textContent = 'none'
      section.append(heading, table)
      return section
    }),
  )
}

/** Text as it is, numbers as JS writes them (NaN too), anything else as JSON (lists, objects). */
export function attributeText(value: unknown): string {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'bigint' || (typeof item === 'number' && !Number.isFinite(item)) ? String(item) : item,
  )
}
