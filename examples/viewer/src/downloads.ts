// What the page lets a user take away: a file (the clicked point's CSV), the map as PNG.

/** Offers `blob` as a file download named `filename`. */
export function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = filename
  document.body.append(link)
  link.click()
  link.remove()
  // The download has its own copy once the click is handled.
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** The map as PNG at its pixel size: the data layer with the layers over it (coastlines), in order. */
export function mapPng(layers: readonly HTMLCanvasElement[]): Promise<Blob> {
  const [base] = layers
  if (base === undefined) return Promise.reject(new Error('no map to save'))
  const canvas = document.createElement('canvas')
  canvas.width = base.width
  canvas.height = base.height
  const context = canvas.getContext('2d')
  if (context === null) return Promise.reject(new Error('this browser gives no 2-D canvas context'))
  for (const layer of layers) context.drawImage(layer, 0, 0)
  return new Promise((resolve, reject) =>
    canvas.toBlob(
      (blob) => (blob === null ? reject(new Error('the map could not be encoded as PNG')) : resolve(blob)),
      'image/png',
    ),
  )
}

/** A file name part from any text: letters, digits, dots and dashes. */
export const fileNamePart = (text: string): string => text.replace(/[^\w.-]+/g, '_').slice(0, 60)
