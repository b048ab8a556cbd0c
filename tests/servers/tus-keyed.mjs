// A tus deployment that names uploads by their object key, for
// tus-server.mjs (--name-by-key): the
// upload id is the Upload-Metadata "key" with '/' written as '~' (ids cannot
// hold '/'), as a server hook mapping keys to storage paths would name them.
// Creating an upload whose key exists answers with the existing upload's
// Location and leaves it as it is (neither truncated nor its metadata
// replaced): a client must find out for itself that it is not a fresh upload.
import { randomUUID } from 'node:crypto';
import { FileStore } from '@tus/file-store';

class KeyedFileStore extends FileStore {
  async create(file) {
    try {
      const existing = await this.getUpload(file.id);
      file.offset = existing.offset;
      return file;
    } catch {
      return super.create(file);
    }
  }
}

// Options for @tus/server's Server: datastore and namingFunction.
export function keyedOptions(directory) {
  return {
    datastore: new KeyedFileStore({ directory }),
    namingFunction: (req, metadata) =>
      metadata?.key ? metadata.key.replaceAll('/', '~') : randomUUID().replaceAll('-', ''),
  };
}
