// Images as the contract shows them, read from their base VDIs' tags in the mirror (one base per
// SR; ownership.ts decides which the caller sees). Never calls XAPI.
import type { MirrorView } from '../../xapi';
import type { VDIRecord } from '../../xapi/datamodel.generated';
import { type ImageBases, imageUser, usableImage } from '../ownership';
import { IMAGE_TAG, TAG } from '../tags';
import type { Schema } from '../types';

type VdiRec = VDIRecord & { $ref: string };
type Image = Schema<'Image'>;

/** The image its bases make: 'active' once any copy is, 'importing' while the first is. Which
 * instance uses it as a persistent disk is shown to the image's own namespace only. */
export function imageView(
  mirror: MirrorView,
  id: string,
  image: ImageBases,
  viewer: string,
): Image {
  const active = image.bases.filter((b) => b.other_config[TAG.state] === 'active');
  const first = active[0] ?? image.bases[0];
  const oc = first.other_config;
  const user = image.namespace === viewer ? imageUser(image) : undefined;
  const created = image.bases
    .map((b) => b.other_config[TAG.createdAt] ?? '')
    .filter(Boolean)
    .sort()[0];
  return {
    id,
    name: oc[IMAGE_TAG.name] ?? id,
    namespace: image.namespace,
    public: image.public,
    format: (oc[IMAGE_TAG.format] ?? 'raw') as Image['format'],
    virtual_size: Number(first.virtual_size) || 0,
    status: active.length > 0 ? 'active' : 'importing',
    checksum: oc[IMAGE_TAG.checksum] ?? '',
    ...(user !== undefined ? { in_use_by: user } : {}),
    srs: active
      .map((b) => mirror.get('SR', b.SR)?.uuid)
      .filter((u): u is string => u !== undefined)
      .sort(),
    created_at: created || new Date(0).toISOString(),
  };
}

/** The caller's images and public ones, ordered by id (the caller's own first on a clash). */
export function listImages(
  mirror: MirrorView,
  namespace: string,
  page: { limit: number; offset: number },
): { items: Image[]; total: number } {
  const ids = new Set<string>();
  for (const row of mirror.query('VDI', {
    where: { [`other_config.${TAG.role}`]: 'image' },
    fields: ['other_config'],
  })) {
    const oc = (row as unknown as VdiRec).other_config;
    const id = oc[IMAGE_TAG.id];
    if (id === undefined) continue;
    if (oc[TAG.namespace] === namespace || oc[IMAGE_TAG.public] === 'true') ids.add(id);
  }
  const sorted = [...ids].sort();
  const items: Image[] = [];
  for (const id of sorted.slice(page.offset, page.offset + page.limit)) {
    const image = usableImage(mirror, namespace, id);
    if (image) items.push(imageView(mirror, id, image, namespace));
  }
  return { items, total: sorted.length };
}
