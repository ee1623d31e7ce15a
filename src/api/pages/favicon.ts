/**
 * The pages' icon: a blue card with a stripe. `/favicon.svg` is linked from every page's head (modern
 * browsers use it); `/favicon.ico`, the same picture as a 16×16 Windows icon, answers the request a
 * browser makes by itself on any other URL of the server (a JSON answer opened in a tab), which would
 * otherwise be a 404 in every log.
 */

export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect x="1" y="3" width="14" height="10" rx="2" fill="#2456c7"/><rect x="1" y="6" width="14" height="2" fill="#fff"/></svg>
`;

/** Is the pixel at (x, y) (top-left origin) white stripe, blue card, or transparent? */
function pixel(x: number, y: number): 'stripe' | 'card' | 'clear' {
  if (y < 3 || y > 12 || x < 1 || x > 14) return 'clear';
  // The card's rounded corners: one pixel cut from each.
  if ((x === 1 || x === 14) && (y === 3 || y === 12)) return 'clear';
  return y === 6 || y === 7 ? 'stripe' : 'card';
}

/**
 * The ICO file (Microsoft's ICONDIR, one ICONDIRENTRY, then a 32-bit BITMAPINFOHEADER image whose height
 * counts the XOR pixels and the AND mask together; rows bottom-up, BGRA). The alpha channel carries the
 * transparency, so the AND mask is all zero.
 */
function buildICO(): Buffer {
  const size = 16;
  const pixels = size * size * 4;
  const mask = size * 4; // 16 one-bit pixels a row, padded to 32 bits
  const image = 40 + pixels + mask;
  const ico = Buffer.alloc(6 + 16 + image);
  ico.writeUInt16LE(0, 0);
  ico.writeUInt16LE(1, 2); // an icon
  ico.writeUInt16LE(1, 4); // one image
  ico.writeUInt8(size, 6);
  ico.writeUInt8(size, 7);
  ico.writeUInt16LE(1, 10); // colour planes
  ico.writeUInt16LE(32, 12); // bits per pixel
  ico.writeUInt32LE(image, 14);
  ico.writeUInt32LE(22, 18); // where the image starts
  ico.writeUInt32LE(40, 22); // BITMAPINFOHEADER
  ico.writeInt32LE(size, 26);
  ico.writeInt32LE(size * 2, 30);
  ico.writeUInt16LE(1, 34);
  ico.writeUInt16LE(32, 36);
  ico.writeUInt32LE(pixels + mask, 42);
  let offset = 62;
  for (let row = size - 1; row >= 0; row--) {
    for (let x = 0; x < size; x++) {
      const kind = pixel(x, row);
      const [b, g, r, a] =
        kind === 'clear' ? [0, 0, 0, 0] : kind === 'stripe' ? [255, 255, 255, 255] : [0xc7, 0x56, 0x24, 255];
      ico.writeUInt8(b, offset);
      ico.writeUInt8(g, offset + 1);
      ico.writeUInt8(r, offset + 2);
      ico.writeUInt8(a, offset + 3);
      offset += 4;
    }
  }
  return ico;
}

export const FAVICON_ICO: Buffer = buildICO();
