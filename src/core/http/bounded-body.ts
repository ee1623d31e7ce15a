/**
 * Reading a Web-standard body (a `Request`'s or a `Response`'s) as text, at most `limit` bytes: a larger
 * declared `Content-Length` is refused before reading, and a stream that grows past the limit is
 * cancelled, never read to its end. `tooLarge` makes the caller's error. Free of `node:` modules.
 */
export async function readBoundedText(
  message: { headers: { get(name: string): string | null }; body: ReadableStream<Uint8Array> | null },
  limit: number,
  tooLarge: () => Error,
): Promise<string> {
  const declared = message.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) throw tooLarge();
  if (!message.body) return '';
  const reader = message.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
