/** A rectangle of the upright image, in pixels: what views, tiles and detector passes are cut from. */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}
