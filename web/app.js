// Atelier Studio: the page served by `atelier serve`. Plain JS, no build step.
// The HTTP API is described in docs/STUDIO_API.md.
'use strict';

const API = '/api/v1';
const TOKEN_KEY = 'atelier-token';
const ACTIVE = ['queued', 'running'];
const RERUNNABLE = ['interrupted', 'failed', 'cancelled'];
// The optimisation's defaults (gatys) come from the server's GET /models, their one place.
const DEFAULT_SIZE = { fast: '512', magenta: '512', adain: '512' };
const MAX_PAINTINGS = 4;
// A slider's last move waits this long before an instant method repaints (moves in between start no job).
const LIVE_DELAY_MS = 250;
// More styles than this (about a screenful) get a filter box.
const FILTER_FROM = 8;
// How often the page asks which previews are painted.
const PREVIEW_POLL_MS = 250;
const SAMPLE_PHOTO = 'builtin';
// Longest side of a photo sent for previews: twice the server's preview size, for a sharp downscale there.
const PREVIEW_UPLOAD_SIDE = 352;

const $ = (id) => document.getElementById(id);

const state = {
  photo: null,          // File chosen for the content
  photoUrl: null,       // object URL of that file (preview and "before" picture)
  model: null,          // selected fast style name
  paintings: [],        // Files chosen as styles (Magenta or optimisation)
  paintingUrls: [],
  gatysAvailable: true,
  magentaAvailable: true,
  magentaMissing: '',   // why Magenta is unavailable, as the server says
  adainAvailable: false, // AdaIN is offered only when the server has its networks
  paintSeq: 0,          // grows with every submission: a late answer for an older one is dropped
  liveTimer: null,      // the pending live repaint after a slider move
  sizeTouched: false,   // once the user picks a size, method changes keep it
  jobId: null,          // the job shown in the picture panel
  jobMethod: '',        // its method
  follow: null,         // AbortController of the stream or polling for jobId
  shownResult: null,    // id of the job whose result is on screen
  lastStatus: '',       // the shown job's last status: a change refreshes the history
  previewCount: 0,
  historySeq: 0,
  styles: [],           // the installed fast styles, as GET /models lists them
  previewPhoto: SAMPLE_PHOTO,  // the photo the gallery shows the styles on
  previewSeq: 0,        // grows with every preview photo: polling for an older one stops
  maskPainted: false,   // the mask canvas holds a stroke: jobs send it
  maskRegions: [],      // the region colours (indices) the mask canvas holds
  maskStroke: null,     // the last point of the stroke being drawn
};

// ---------- HTTP ----------

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

// The token lives in localStorage; memoryToken covers browsers where storage is refused.
let memoryToken = '';

function token() {
  try { return localStorage.getItem(TOKEN_KEY) || memoryToken; } catch { return memoryToken; }
}

function setToken(value) {
  memoryToken = value;
  try { localStorage.setItem(TOKEN_KEY, value); } catch { /* kept for this page only */ }
}

// fetch with the token, turning every non-2xx answer into an ApiError carrying the server's "error" line.
async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (token()) headers.set('Authorization', 'Bearer ' + token());
  let res;
  try {
    res = await fetch(path, { ...options, headers });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError('Cannot reach the Atelier server (' + err.message + ').', 0);
  }
  if (res.ok) return res;
  const message = await errorMessage(res);
  if (res.status === 401) showTokenForm();
  throw new ApiError(message, res.status);
}

async function errorMessage(res) {
  let text = '';
  try {
    const body = await res.text();
    try { text = JSON.parse(body).error || ''; } catch { text = body.slice(0, 200); }
  } catch { /* body unreadable: use the status below */ }
  text = text || `The server answered ${res.status} ${res.statusText}.`;
  const retry = res.headers.get('Retry-After');
  if (res.status === 429 && retry) text += ` Try again in ${retry} s.`;
  return text;
}

const apiJson = async (path, options) => (await api(path, options)).json();

// ---------- errors ----------

function showError(message) {
  $('error-text').textContent = message;
  $('error-banner').hidden = false;
}

function hideError() {
  $('error-banner').hidden = true;
}

function report(err) {
  if (err && err.name === 'AbortError') return;
  console.warn(err);
  showError(err && err.message ? err.message : String(err));
}

// ---------- token ----------

function showTokenForm() {
  $('token-form').hidden = false;
  $('token-input').value = token();
  $('token-input').focus();
}

function onTokenSubmit(event) {
  event.preventDefault();
  setToken($('token-input').value.trim());
  $('token-form').hidden = true;
  imageCache.clear();
  hideError();
  loadModels();
  refreshHistory();
}

// ---------- images ----------

// Without a token a plain src is enough; with one, API images are fetched as blobs so the header can be sent.
// Results and photos never change once they exist, so the object URLs are cached.
const imageCache = new Map();

function needsAuth(url) {
  const parsed = new URL(url, location.href);
  return Boolean(token()) && parsed.protocol.startsWith('http') && parsed.origin === location.origin;
}

function imageSource(url) {
  if (!needsAuth(url)) return Promise.resolve(url);
  if (!imageCache.has(url)) {
    const promise = api(url).then((r) => r.blob()).then((b) => URL.createObjectURL(b));
    promise.catch(() => imageCache.delete(url));
    imageCache.set(url, promise);
  }
  return imageCache.get(url);
}

// Shows url in img; a later call for the same img wins, even if its fetch finishes first.
async function setImage(img, url) {
  img.dataset.want = url;
  try {
    const src = await imageSource(url);
    if (img.dataset.want === url) img.src = src;
  } catch (err) {
    if (err.status === 401) report(err);
  }
}

// The contract always gives these URLs; the fallbacks only guard against an older server.
const resultUrl = (job) => job.result_url || `${API}/jobs/${job.id}/result`;
const contentUrl = (job) => job.content_url || `${API}/jobs/${job.id}/content`;

function withQuery(url, query) {
  return url + (url.includes('?') ? '&' : '?') + query;
}

// A download link cannot send a header, so with a token the file is fetched and saved from a blob.
async function onAuthDownload(event) {
  const link = event.currentTarget;
  if (!token() || link.dataset.url === undefined) return;
  event.preventDefault();
  try {
    const blob = await (await api(link.dataset.url)).blob();
    const temp = document.createElement('a');
    temp.href = URL.createObjectURL(blob);
    temp.download = link.download;
    temp.click();
    setTimeout(() => URL.revokeObjectURL(temp.href), 10000);
  } catch (err) {
    report(err);
  }
}

function setDownload(link, job) {
  link.dataset.url = withQuery(resultUrl(job), 'download=1');
  link.href = link.dataset.url;
  link.download = `atelier-${job.id}.png`;
}

// ---------- photo ----------

function choosePhoto(file) {
  if (!file) return;
  state.photo = file;
  if (state.photoUrl) URL.revokeObjectURL(state.photoUrl);
  state.photoUrl = URL.createObjectURL(file);
  const img = $('photo-preview');
  img.hidden = false;
  img.src = state.photoUrl;
  $('photo-note').textContent = file.name;
  $('mask-photo').src = state.photoUrl;  // its load sizes the mask afresh
  previewOnPhoto(file);
}

// ---------- mask ----------

// The mask is drawn on #mask-canvas at the photo's size (at most MASK_SIDE a side), one colour per region:
// strokes opaque, the rest transparent. It is sent as a colour-coded PNG (each painted pixel the nearest region
// colour, the rest black) with one `region` field per colour used, binding it to its style.
const MASK_SIDE = 1024;
// Far apart in every channel, so that none is mistaken for another (the server matches within 24 levels).
const REGION_COLORS = ['#e6194b', '#3cb44b', '#4363d8', '#ffe119'];
const REGION_RGB = REGION_COLORS.map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));

function onMaskPhotoLoad() {
  const img = $('mask-photo');
  const canvas = $('mask-canvas');
  const scale = Math.min(1, MASK_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
  canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
  canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
  $('mask-tool').hidden = false;
  clearMask();
}

// A photo the browser cannot show (TIFF) cannot be masked here.
function onMaskPhotoError() {
  $('mask-tool').hidden = true;
  clearMask();
}

function clearMask() {
  const canvas = $('mask-canvas');
  canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height);
  state.maskPainted = false;
  state.maskRegions = [];
  updateMaskNote();
}

// One row per region colour: its swatch (the brush's colour) and the style it takes.
function renderPalette() {
  const rows = REGION_COLORS.map((color, i) => {
    const row = document.createElement('div');
    row.className = 'region-row';
    const label = document.createElement('label');
    label.className = 'swatch';
    const radio = document.createElement('input');
    radio.type = 'radio';
    radio.name = 'mask-color';
    radio.id = `mask-color-${i}`;
    radio.value = color;
    radio.checked = i === 0;
    radio.addEventListener('change', () => $('mask-brush').click());  // a new colour paints, not erases
    const chip = document.createElement('span');
    chip.className = 'swatch-chip';
    chip.style.background = color;
    label.append(radio, chip, `Region ${i + 1}`);
    const select = document.createElement('select');
    select.id = `mask-style-${i}`;
    select.setAttribute('aria-label', `Style of region ${i + 1}`);
    select.addEventListener('change', () => { updateMaskNote(); scheduleLivePaint(); });
    row.append(label, select);
    return row;
  });
  $('mask-palette').replaceChildren(...rows);
  renderRegionStyles();
}

// The styles a region can take: "automatic", each uploaded painting, each installed fast style. A choice that
// still exists is kept.
function renderRegionStyles() {
  REGION_COLORS.forEach((_, i) => {
    const select = $(`mask-style-${i}`);
    if (!select) return;
    const kept = select.value;
    const option = (value, text) => Object.assign(document.createElement('option'), { value, textContent: text });
    const automatic = autoRegionStyle(i);
    const options = [option('', `Automatic: ${automatic ? regionStyleLabel(automatic) : 'the style chosen below'}`)];
    if (state.paintings.length) {
      const group = Object.assign(document.createElement('optgroup'), { label: 'Your paintings' });
      group.append(...state.paintings.map((file, p) => option(`upload:${p}`, `Painting ${p + 1} (${file.name})`)));
      options.push(group);
    }
    if (state.styles.length) {
      const group = Object.assign(document.createElement('optgroup'), { label: 'Fast styles' });
      group.append(...state.styles.map((style) => option(`model:${style.name}`, displayName(style))));
      options.push(group);
    }
    select.replaceChildren(...options);
    select.value = Array.from(select.querySelectorAll('option')).some((o) => o.value === kept) ? kept : '';
  });
}

// Region i's style when left on automatic: painting i (or the last) for the painting methods, else the chosen
// fast style.
function autoRegionStyle(i) {
  if (usesPaintings(method()) && state.paintings.length) return `upload:${Math.min(i, state.paintings.length - 1)}`;
  return state.model ? `model:${state.model}` : '';
}

const regionStyle = (i) => ($(`mask-style-${i}`) && $(`mask-style-${i}`).value) || autoRegionStyle(i);

function regionStyleLabel(value) {
  if (value.startsWith('upload:')) return `Painting ${Number(value.slice(7)) + 1}`;
  return styleLabel(value.slice(6));
}

// A pointer event's place on the canvas, in the canvas's own pixels, and those pixels per screen pixel.
function maskPoint(event) {
  const canvas = $('mask-canvas');
  const rect = canvas.getBoundingClientRect();
  const scale = canvas.width / rect.width;
  return { x: (event.clientX - rect.left) * scale, y: (event.clientY - rect.top) * scale, scale };
}

function drawMaskLine(from, to) {
  const ctx = $('mask-canvas').getContext('2d');
  ctx.globalCompositeOperation = $('mask-eraser').checked ? 'destination-out' : 'source-over';
  ctx.strokeStyle = document.querySelector('input[name="mask-color"]:checked')?.value || REGION_COLORS[0];
  ctx.lineWidth = Number($('mask-size').value) * to.scale;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.beginPath();
  ctx.moveTo(from.x, from.y);
  ctx.lineTo(to.x, to.y);
  ctx.stroke();
}

function onMaskDown(event) {
  event.preventDefault();
  $('mask-canvas').setPointerCapture(event.pointerId);
  state.maskStroke = maskPoint(event);
  drawMaskLine(state.maskStroke, state.maskStroke);  // a click is a dot
}

function onMaskMove(event) {
  if (!state.maskStroke) return;
  const point = maskPoint(event);
  drawMaskLine(state.maskStroke, point);
  state.maskStroke = point;
}

// The canvas as the mask the server takes: each mostly opaque pixel the nearest region colour, the rest black;
// and which regions have pixels.
function quantisedMask() {
  const canvas = $('mask-canvas');
  const image = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  const px = image.data;
  const used = REGION_COLORS.map(() => false);
  for (let i = 0; i < px.length; i += 4) {
    let best = -1;
    if (px[i + 3] >= 128) {
      let bestDistance = Infinity;
      REGION_RGB.forEach(([r, g, b], k) => {
        const distance = Math.abs(px[i] - r) + Math.abs(px[i + 1] - g) + Math.abs(px[i + 2] - b);
        if (distance < bestDistance) { best = k; bestDistance = distance; }
      });
    }
    const [r, g, b] = best >= 0 ? REGION_RGB[best] : [0, 0, 0];
    px[i] = r; px[i + 1] = g; px[i + 2] = b; px[i + 3] = 255;
    if (best >= 0) used[best] = true;
  }
  return { image, regions: used.flatMap((on, k) => (on ? [k] : [])) };
}

// A finished stroke: which regions are painted, and a live repaint with the new mask.
function onMaskUp() {
  if (!state.maskStroke) return;
  state.maskStroke = null;
  state.maskRegions = quantisedMask().regions;
  state.maskPainted = state.maskRegions.length > 0;
  updateMaskNote();
  scheduleLivePaint();
}

function updateMaskNote() {
  const regions = state.maskRegions || [];
  $('mask-note').textContent = !state.maskPainted ? 'Nothing painted: the style covers the whole photo.'
    : `${regions.map((k) => `Region ${k + 1}: ${regionStyle(k) ? regionStyleLabel(regionStyle(k)) : 'no style chosen'}`)
      .join('; ')}; the photo elsewhere.`;
  $('mask-summary').textContent = state.maskPainted
    ? `Mask (painted: ${regions.length} region${regions.length > 1 ? 's' : ''})` : 'Mask: paint where each style goes';
  $('blend-field').hidden = !blendShown();
  renderRegionStyles();
}

// Whether this job sends the mask: painted, and a method that takes one.
const masked = () => state.maskPainted;

// What a masked job sends: the paintings its regions use (renumbered from 1), the `region` fields and the method
// (a painting needs magenta, adain or gatys; fast styles alone are a fast job).
function maskPlan() {
  const uploads = [];
  const regions = state.maskRegions.map((k) => {
    const value = regionStyle(k);
    if (!value.startsWith('upload:')) return `${REGION_COLORS[k]}=${value.slice(6)}`;
    const painting = Number(value.slice(7));
    if (!uploads.includes(painting)) uploads.push(painting);
    return `${REGION_COLORS[k]}=${uploads.indexOf(painting) + 1}`;
  });
  const m = method();
  const instant = state.magentaAvailable ? 'magenta' : 'adain';
  const sent = !uploads.length ? 'fast' : m === 'fast' ? instant : m;
  return { uploads, regions, method: sent };
}

function maskBlob() {
  const { image } = quantisedMask();
  const out = document.createElement('canvas');
  out.width = image.width;
  out.height = image.height;
  out.getContext('2d').putImageData(image, 0, 0);
  return new Promise((resolve) => out.toBlob(resolve, 'image/png'));
}

// Some valid formats (TIFF) cannot be previewed: the server decides, by decoding, whether it is an image.
function onPhotoPreviewError() {
  $('photo-preview').hidden = true;
  $('photo-note').textContent = `${state.photo ? state.photo.name : 'This file'}: no preview here.`;
}

function setUpDropZone() {
  const zone = $('drop-zone');
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('dragging');
    choosePhoto(e.dataTransfer.files[0]);
  });
}

// ---------- styles and method ----------

async function loadModels() {
  try {
    const models = await apiJson(`${API}/models`);
    state.gatysAvailable = models.gatys_available !== false;
    state.magentaAvailable = models.magenta_available !== false;
    state.magentaMissing = models.magenta_missing || '';
    state.adainAvailable = models.adain_available === true;
    $('method-adain-choice').hidden = !state.adainAvailable;
    if (!state.adainAvailable && method() === 'adain') setMethod('magenta');
    if (models.defaults) {
      DEFAULT_SIZE.gatys = String(models.defaults.gatys_size);
      $('iterations').value = models.defaults.gatys_iterations;
    }
    renderStyles(models.styles || []);
  } catch (err) {
    $('gallery-note').textContent = 'Could not load the styles.';
    report(err);
  }
}

function renderStyles(styles) {
  state.styles = styles;
  $('gallery-note').hidden = styles.length > 0;
  $('gallery-note').textContent = 'No fast styles are installed: upload a painting instead.';
  $('style-families').replaceChildren(...familyGroups(styles));
  $('style-filter-field').hidden = styles.length <= FILTER_FROM;
  applyFilter();
  renderSelection();
  renderRegionStyles();
  loadPreviews(state.previewPhoto);
}

// One folding group per family ("Engstrom", "pytorch-examples"), in the order they first appear.
function familyGroups(styles) {
  const families = new Map();
  for (const style of styles) {
    const family = style.family_name || style.family || 'Other';
    if (!families.has(family)) families.set(family, []);
    families.get(family).push(style);
  }
  return Array.from(families, ([family, members]) => {
    const group = document.createElement('details');
    group.className = 'style-family';
    group.open = true;
    group.dataset.family = family;
    const summary = document.createElement('summary');
    summary.textContent = `${family} (${members.length})`;
    const tiles = document.createElement('div');
    tiles.className = 'family-tiles';
    tiles.append(...members.map(styleTile));
    group.append(summary, tiles);
    return group;
  });
}

const displayName = (style) => style.display_name || style.name;

// The name people read for a style's stable name (jobs store the latter).
function styleLabel(name) {
  const style = state.styles.find((s) => s.name === name);
  return style ? displayName(style) : name;
}

function styleTile(style) {
  const tile = document.createElement('button');
  tile.type = 'button';
  tile.className = 'style-tile';
  tile.dataset.model = style.name;
  tile.title = `${displayName(style)}${style.artist ? `, after ${style.artist}` : ''} (${style.name})`;
  tile.dataset.search = [displayName(style), style.artist, style.family_name, style.name].join(' ').toLowerCase();
  const img = document.createElement('img');
  img.alt = `${displayName(style)} applied to the preview photo`;
  img.loading = 'lazy';
  tile.append(img, styleCaption(displayName(style)));
  tile.addEventListener('click', () => {
    state.model = style.name;
    setMethod('fast');
  });
  return tile;
}

// "Udnie — fast, Engstrom": the title, and below it (smaller) what tells it apart; read as one name.
function styleCaption(name) {
  const caption = document.createElement('span');
  caption.className = 'style-caption';
  const [title, ...rest] = name.split(' \u2014 ');
  const titleSpan = document.createElement('span');
  titleSpan.className = 'style-title';
  titleSpan.textContent = title;
  caption.append(titleSpan);
  if (rest.length) {
    const dash = document.createElement('span');
    dash.className = 'visually-hidden';
    dash.textContent = ' \u2014 ';
    const qualifier = document.createElement('span');
    qualifier.className = 'style-qualifier';
    qualifier.textContent = rest.join(' \u2014 ');
    caption.append(dash, qualifier);
  }
  return caption;
}

// Shows the styles whose name, artist or family holds the filter's text; a family with none folds away.
function applyFilter() {
  const query = $('style-filter').value.trim().toLowerCase();
  let shown = 0;
  document.querySelectorAll('.style-family').forEach((group) => {
    let visible = 0;
    group.querySelectorAll('.style-tile').forEach((tile) => {
      tile.hidden = Boolean(query) && !tile.dataset.search.includes(query);
      if (!tile.hidden) visible += 1;
    });
    group.hidden = visible === 0;
    if (query && visible) group.open = true;
    shown += visible;
  });
  const note = $('gallery-note');
  if (state.styles.length && query) {
    note.hidden = shown > 0;
    note.textContent = `No style matches "${query}".`;
  } else if (state.styles.length) {
    note.hidden = true;
  }
}

// ---------- previews: every style on the sample photo, or on the person's own ----------

// Sends the photo to be previewed on (scaled down by the server) and shows the styles on it.
async function previewOnPhoto(file) {
  const seq = ++state.previewSeq;
  $('preview-note').textContent = 'Painting every style on your photo…';
  document.body.dataset.previewsReady = '';
  try {
    const form = new FormData();
    form.append('photo', await previewSized(file), 'photo.jpg');
    const answer = await apiJson(`${API}/previews`, { method: 'POST', body: form });
    if (seq !== state.previewSeq) return;
    state.previewPhoto = answer.photo;
    $('preview-photo').src = state.photoUrl || $('preview-photo').src;
    $('preview-sample').hidden = false;
    $('preview-mine').hidden = true;
    showPreviews(answer);
    loadPreviews(answer.photo, seq);
  } catch (err) {
    if (seq !== state.previewSeq) return;
    previewOnSample();  // not a picture (Paint will say so): the styles stay on the sample
    if (err.status !== 415) report(err);
  }
}

// The photo as the preview lane needs it: a few kB rather than the whole file (the server scales it to 176 px
// anyway). A format the browser cannot draw (TIFF) goes as it is, for the server to decode.
async function previewSized(file) {
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, PREVIEW_UPLOAD_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    return (await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.92))) || file;
  } catch {
    return file;
  }
}

function previewOnSample() {
  ++state.previewSeq;
  // Nobody will look at the previews still queued for the photo left behind.
  if (state.previewPhoto !== SAMPLE_PHOTO) api(`${API}/previews/${state.previewPhoto}`, { method: 'DELETE' }).catch(() => {});
  state.previewPhoto = SAMPLE_PHOTO;
  $('preview-photo').src = '/preview-photo.jpg';
  $('preview-sample').hidden = true;
  $('preview-mine').hidden = false;
  loadPreviews(SAMPLE_PHOTO);
}

function onPreviewMine() {
  if (state.photo) previewOnPhoto(state.photo);
  else $('photo-input').click();  // the photo to paint is the photo to preview on
}

// Asks which previews are painted until all are, showing each as it comes.
async function loadPreviews(photo, seq = ++state.previewSeq) {
  const started = performance.now();
  while (seq === state.previewSeq) {
    let answer;
    try {
      answer = await apiJson(`${API}/previews/${photo}`);
    } catch (err) {
      if (seq === state.previewSeq && err.status === 404 && photo !== SAMPLE_PHOTO) previewOnSample();
      else if (seq === state.previewSeq) report(err);
      return;
    }
    if (seq !== state.previewSeq) return;
    showPreviews(answer);
    if (!answer.pending) {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      $('preview-note').textContent = photo === SAMPLE_PHOTO ? 'Each style on a sample photo.'
        : `Each style on your photo (${seconds} s).`;
      document.body.dataset.previewsReady = photo;
      return;
    }
    await sleep(PREVIEW_POLL_MS);
  }
}

function showPreviews(answer) {
  for (const item of answer.styles || []) {
    const tile = document.querySelector(`.style-tile[data-model="${CSS.escape(item.name)}"]`);
    if (!tile) continue;
    const img = tile.querySelector('img');
    if (item.url) {
      img.dataset.photo = answer.photo;
      setImage(img, item.url);
    } else if (item.error) {
      img.removeAttribute('src');
      img.alt = `No preview: ${item.error}`;
    }
  }
}

function onPaintingsChosen() {
  const files = Array.from($('style-upload').files);
  if (!files.length) return;
  state.paintingUrls.forEach((url) => URL.revokeObjectURL(url));
  state.paintings = files.slice(0, MAX_PAINTINGS);
  state.paintingUrls = state.paintings.map((f) => URL.createObjectURL(f));
  const previews = $('painting-previews');
  previews.replaceChildren(...state.paintingUrls.map(paintingThumb));
  const extra = files.length > MAX_PAINTINGS ? ` (only the first ${MAX_PAINTINGS} are used)` : '';
  $('upload-caption').textContent = `${state.paintings.length} painting${state.paintings.length > 1 ? 's' : ''}${extra}`;
  // Your own painting: instant (Magenta, else AdaIN) unless the optimisation was chosen already or neither is installed.
  if (method() === 'fast') {
    setMethod(state.magentaAvailable ? 'magenta' : state.adainAvailable ? 'adain' : state.gatysAvailable ? 'gatys' : 'magenta');
  }
  else onMethodChange();
}

function paintingThumb(url, i) {
  const img = document.createElement('img');
  img.src = url;
  img.alt = `Painting ${i + 1}`;
  return img;
}

const method = () => document.querySelector('input[name="method"]:checked').value;
// Magenta and AdaIN paint an uploaded painting in one pass: sliders repaint at once.
const isInstant = (m) => m === 'magenta' || m === 'adain';
const usesPaintings = (m) => isInstant(m) || m === 'gatys';

function setMethod(name) {
  $(`method-${name}`).checked = true;
  onMethodChange();
}

function onMethodChange() {
  const m = method();
  $('iterations').disabled = m !== 'gatys';
  if (!state.sizeTouched && DEFAULT_SIZE[m]) $('size').value = DEFAULT_SIZE[m];
  const note = $('method-note');
  const available = m === 'gatys' ? state.gatysAvailable : m === 'magenta' ? state.magentaAvailable
    : m === 'adain' ? state.adainAvailable : true;
  note.hidden = !usesPaintings(m) || (available && state.paintings.length > 0);
  if (!available && m === 'gatys') {
    note.textContent = 'Optimisation is not available on this server (its VGG-19 weights are not installed).';
  } else if (!available) {
    note.textContent = `Instant painting is not available on this server: ${state.magentaMissing || 'its Magenta weights are not installed.'}`;
  } else {
    note.textContent = 'Upload a painting to copy its style.';
  }
  $('live-note').hidden = !isInstant(m);
  updateMaskNote();
  renderSelection();
}

// Two paintings blend by the slider, unless a mask places them.
const blendShown = () => isInstant(method()) && state.paintings.length === 2 && !state.maskPainted;

function renderSelection() {
  const m = method();
  document.querySelectorAll('.style-tile').forEach((tile) => {
    const on = m === 'fast' && tile.dataset.model === state.model;
    tile.classList.toggle('selected', on);
    tile.setAttribute('aria-pressed', String(on));
  });
  $('upload-tile').classList.toggle('selected', usesPaintings(m) && state.paintings.length > 0);
}

// ---------- painting ----------

// Checks what the page can check itself; the server checks the rest.
function validate() {
  if (!state.photo) return 'Choose a photo first.';
  if (method() === 'fast' && !state.model && !masked()) return 'Choose a style, or upload a painting.';
  if (usesPaintings(method()) && !state.paintings.length && !masked()) return 'Upload a painting to copy its style.';
  if (masked()) {
    const missing = state.maskRegions.find((k) => !regionStyle(k));
    if (missing !== undefined) return `Choose a style for region ${missing + 1} of the mask.`;
    const model = state.maskRegions.find((k) => regionStyle(k).startsWith('model:'));
    if (method() === 'gatys' && model !== undefined) {
      return `Gatys paints with your paintings: choose one for region ${model + 1} of the mask.`;
    }
  }
  const iterations = Number($('iterations').value);
  if (method() === 'gatys' && !(Number.isInteger(iterations) && iterations >= 1 && iterations <= 2000)) {
    return 'Iterations must be a whole number from 1 to 2000.';
  }
  return '';
}

async function buildForm() {
  const form = new FormData();
  form.append('content', state.photo);
  let m = method();
  if (masked()) {
    const plan = maskPlan();
    m = plan.method;
    plan.uploads.forEach((p) => form.append('style', state.paintings[p]));
    form.append('mask', await maskBlob(), 'mask.png');
    plan.regions.forEach((region) => form.append('region', region));
  } else if (m === 'fast') form.append('model', state.model);
  else state.paintings.forEach((file) => form.append('style', file));
  form.append('method', m);
  if (!masked() && isInstant(m) && state.paintings.length === 2) {
    const second = Number($('blend').value);
    form.append('style_blend', `${(1 - second).toFixed(2)},${second.toFixed(2)}`);
  }
  form.append('size', $('size').value);
  form.append('strength', $('strength').value);
  if (m === 'gatys') form.append('iterations', $('iterations').value);
  form.append('keep_colors', $('keep-colors').checked ? 'true' : 'false');
  return form;
}

async function onPaint() {
  clearTimeout(state.liveTimer);
  const problem = validate();
  if (problem) return showError(problem);
  hideError();
  const button = $('paint-button');
  button.disabled = true;  // no double submits while the upload runs
  try {
    await submit(true);
  } finally {
    button.disabled = false;
  }
}

// Posts the form and shows the new job, unless a newer submission started meanwhile: then this one
// is cancelled, since nobody will look at it. A live repaint does not scroll (the slider stays in view).
async function submit(scroll) {
  const seq = ++state.paintSeq;
  try {
    const job = await apiJson(`${API}/jobs`, { method: 'POST', body: await buildForm() });
    if (seq !== state.paintSeq) return cancelQuietly(job.id);
    startShowing({ ...job, status: job.status || 'queued' }, state.photoUrl);
    if (scroll) showPicturePanel();
    refreshHistory();
    follow(job.id);
  } catch (err) {
    if (seq === state.paintSeq) report(err);
  }
}

// Live painting: with Magenta or AdaIN, a slider's move repaints (debounced), superseding a repaint still under way.
function scheduleLivePaint() {
  const m = method();
  const available = m === 'magenta' ? state.magentaAvailable : state.adainAvailable;
  if (!isInstant(m) || !state.photo || !state.paintings.length || !available) return;
  clearTimeout(state.liveTimer);
  state.liveTimer = setTimeout(livePaint, LIVE_DELAY_MS);
}

function livePaint() {
  if (validate()) return;
  if (state.jobId && isInstant(state.jobMethod) && ACTIVE.includes(state.lastStatus)) cancelQuietly(state.jobId);
  hideError();
  submit(false);
}

// Cancels a job the page no longer shows; one that ended meanwhile is left alone.
async function cancelQuietly(id) {
  try {
    await api(`${API}/jobs/${id}`, { method: 'DELETE' });
  } catch (err) {
    if (err.status !== 409 && err.status !== 404) report(err);
  }
}

async function onCancel() {
  if (!state.jobId) return;
  try {
    const job = await apiJson(`${API}/jobs/${state.jobId}`, { method: 'DELETE' });
    renderJob(job);
  } catch (err) {
    report(err);
  }
}

async function rerun(id) {
  try {
    const answer = await apiJson(`${API}/jobs/${id}/rerun`, { method: 'POST' });
    const job = { id, status: 'queued', ...answer };
    startShowing(job, contentUrl(job));
    refreshHistory();
    follow(job.id);
  } catch (err) {
    report(err);
  }
}

// ---------- following a job: SSE over fetch, polling as the fallback ----------

function stopFollowing() {
  if (state.follow) state.follow.abort();
  state.follow = null;
}

async function follow(id) {
  stopFollowing();
  const control = new AbortController();
  state.follow = control;
  try {
    if (await streamJob(id, control.signal)) return;
  } catch (err) {
    if (control.signal.aborted) return;
    console.warn('event stream broke, polling instead:', err);
  }
  if (!control.signal.aborted) await pollJob(id, control.signal);
}

// Reads the event stream; true when the final `end` event arrived.
async function streamJob(id, signal) {
  const res = await api(`${API}/jobs/${id}/events`, { signal, headers: { Accept: 'text/event-stream' } });
  let ended = false;
  await readEvents(res.body, (type, data) => {
    if (type !== 'progress' && type !== 'end') return false;
    renderJob(JSON.parse(data));
    ended = type === 'end';
    return ended;  // nothing follows `end`
  });
  return ended;
}

// A minimal text/event-stream parser: `event:` and `data:` fields, a blank line ends an event, `:` is a comment.
// Stops when onEvent returns true.
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let type = '';
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      if (line === '') {
        if (data.length && onEvent(type || 'message', data.join('\n'))) return reader.cancel();
        type = '';
        data = [];
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') type = val;
        else if (field === 'data') data.push(val);
      }
    }
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function pollJob(id, signal) {
  let failures = 0;
  while (!signal.aborted) {
    await sleep(1000);
    if (signal.aborted) return;
    try {
      const job = await apiJson(`${API}/jobs/${id}`, { signal });
      failures = 0;
      renderJob(job);
      if (!ACTIVE.includes(job.status)) return;
    } catch (err) {
      if (err.name === 'AbortError') return;
      if (err.status) return report(err);  // the server answered with an error: polling will not fix it
      if (++failures === 3) report(err);   // a network blip: keep trying, but say so
    }
  }
}

// ---------- the picture panel ----------

// Resets the panel for a job that is starting (or chosen from the history).
function startShowing(job, beforeUrl) {
  stopFollowing();
  state.jobId = job.id;
  state.jobMethod = job.method || method();
  state.shownResult = null;
  state.lastStatus = job.status;
  state.previewCount = 0;
  document.body.dataset.jobId = job.id;
  document.body.dataset.previewCount = '0';
  $('live-image').hidden = true;
  $('live-image').removeAttribute('src');
  $('download-link').hidden = true;
  $('compare-slider').value = '100';
  updateCompare();
  const before = $('before-image');
  before.hidden = !beforeUrl;
  if (beforeUrl) setImage(before, beforeUrl);
  $('stage-placeholder').hidden = Boolean(beforeUrl);
  renderJob(job);
}

function renderJob(job) {
  if (!job || job.id !== state.jobId) return;  // a late answer about a job no longer shown
  document.body.dataset.jobState = job.status;
  $('progress').value = job.status === 'done' ? 1 : Number(job.progress) || 0;
  $('status-text').textContent = describe(job);
  $('cancel-button').hidden = !ACTIVE.includes(job.status);
  if (job.preview) showPreview(job.preview);
  if (job.status === 'done') showResult(job);
  if (job.status !== state.lastStatus) {
    state.lastStatus = job.status;
    refreshHistory();
  }
}

function showPreview(dataUrl) {
  const img = $('live-image');
  img.src = dataUrl;
  img.hidden = false;
  $('stage-placeholder').hidden = true;
  state.previewCount += 1;
  document.body.dataset.previewCount = String(state.previewCount);
}

function showResult(job) {
  if (state.shownResult === job.id) return;
  state.shownResult = job.id;
  const img = $('live-image');
  img.hidden = false;
  setImage(img, resultUrl(job));
  $('before-image').hidden = false;
  setImage($('before-image'), contentUrl(job));
  $('stage-placeholder').hidden = true;
  setDownload($('download-link'), job);
  $('download-link').hidden = false;
}

function describe(job) {
  switch (job.status) {
    case 'queued':
      return job.position ? `queued - number ${job.position} in line` : 'queued - starting soon';
    case 'running':
      return runningText(job);
    case 'done':
      return doneText(job);
    case 'failed':
      return 'failed' + (job.message ? ` - ${job.message}` : '');
    case 'cancelled':
      return 'cancelled';
    case 'interrupted':
      return 'interrupted - the server stopped; "Run again" resumes it';
    default:
      return job.status || '';
  }
}

// "running - iteration 40/150 - loss 1.23 - about 12 s left"
function runningText(job) {
  const parts = ['running'];
  if (job.method === 'gatys' && job.iterations) parts.push(`iteration ${job.iteration || 0}/${job.iterations}`);
  else if (job.progress) parts.push(`${Math.round(job.progress * 100)}%`);
  if (job.losses && Number.isFinite(job.losses.total)) parts.push(`loss ${formatNumber(job.losses.total)}`);
  if (Number.isFinite(job.eta_seconds)) parts.push(`about ${formatDuration(job.eta_seconds)} left`);
  return parts.join(' - ');
}

function doneText(job) {
  const parts = ['done'];
  if (job.width && job.height) parts.push(`${job.width} x ${job.height} px`);
  if (job.started && job.finished) parts.push(`took ${formatDuration(job.finished - job.started)}`);
  (job.warnings || []).forEach((warning) => parts.push(`note: ${warning}`));
  return parts.join(' - ');
}

function formatNumber(x) {
  const a = Math.abs(x);
  return a !== 0 && (a >= 10000 || a < 0.01) ? x.toExponential(2) : x.toFixed(2);
}

function formatDuration(seconds) {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  return `${Math.round(seconds / 60)} min`;
}

// The result layer covers the photo from the left up to the slider's value.
function updateCompare() {
  const value = Number($('compare-slider').value);
  $('after-layer').style.clipPath = `inset(0 ${100 - value}% 0 0)`;
  const divider = $('compare-divider');
  divider.style.left = `${value}%`;
  divider.hidden = value >= 100 || value <= 0 || $('before-image').hidden;
}

// ---------- history ----------

async function refreshHistory() {
  const seq = ++state.historySeq;  // only the newest answer is drawn
  try {
    const { jobs } = await apiJson(`${API}/jobs?limit=30`);
    if (seq === state.historySeq) renderHistory(jobs || []);
    return jobs || [];
  } catch (err) {
    if (seq === state.historySeq) report(err);
    return [];
  }
}

function renderHistory(jobs) {
  $('history').replaceChildren(...jobs.map(historyItem));
  $('history-note').hidden = jobs.length > 0;
}

function historyItem(job) {
  const item = document.createElement('li');
  item.className = 'history-item';
  item.dataset.jobId = job.id;
  item.dataset.status = job.status;
  const open = document.createElement('button');
  open.type = 'button';
  open.className = 'history-open';
  open.setAttribute('aria-label', `Show ${jobTitle(job)} (${job.status})`);
  open.append(job.status === 'done' ? historyThumb(job) : badge(job.status));
  open.addEventListener('click', () => selectJob(job));
  const caption = document.createElement('span');
  caption.className = 'history-caption';
  caption.textContent = jobTitle(job);
  item.append(open, caption);
  if (job.status === 'done') item.append(historyDownload(job));
  if (RERUNNABLE.includes(job.status)) item.append(rerunButton(job));
  if (!ACTIVE.includes(job.status)) item.append(deleteButton(job));
  return item;
}

function historyThumb(job) {
  const img = document.createElement('img');
  img.alt = `Result of ${jobTitle(job)}`;
  img.loading = 'lazy';
  setImage(img, resultUrl(job));
  return img;
}

function badge(status) {
  const span = document.createElement('span');
  span.className = `badge badge-${status}`;
  span.textContent = status;
  return span;
}

function historyDownload(job) {
  const link = document.createElement('a');
  link.className = 'small-link';
  link.textContent = 'Download';
  setDownload(link, job);
  link.addEventListener('click', onAuthDownload);
  return link;
}

function smallButton(label, className, onClick) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = `secondary small ${className}`;
  button.textContent = label;
  button.addEventListener('click', onClick);
  return button;
}

function rerunButton(job) {
  return smallButton('Run again', 'history-rerun', () => rerun(job.id));
}

// Deleting an ended job removes its record and pictures from the server; it
// asks first, since nothing brings them back.
function deleteButton(job) {
  const button = smallButton('Delete', 'history-delete', () => removeJob(job));
  button.setAttribute('aria-label', `Delete ${jobTitle(job)}`);
  return button;
}

async function removeJob(job) {
  if (!window.confirm(`Delete ${jobTitle(job)} and its pictures from the studio?`)) return;
  try {
    await api(`${API}/jobs/${job.id}`, { method: 'DELETE' });
    refreshHistory();
  } catch (err) {
    report(err);
  }
}

function jobTitle(job) {
  const p = job.params || {};
  const paintings = `${p.styles || 1} painting${p.styles > 1 ? 's' : ''}`;
  const regions = (p.regions || []).length;
  const what = regions ? `${regions} mask region${regions > 1 ? 's' : ''} (${job.method === 'fast' ? 'fast styles'
    : job.method === 'gatys' ? 'Gatys' : job.method === 'adain' ? 'AdaIN' : 'Magenta'})`
    : job.method === 'fast' ? (p.model ? styleLabel(p.model) : 'fast style')
    : isInstant(job.method)
      ? `${paintings} (${job.method === 'adain' ? 'AdaIN' : 'Magenta'}, strength ${Number(p.strength ?? 1).toFixed(2)})`
      : `${paintings} (Gatys)`;
  return [what, p.size ? `${p.size} px` : '', job.created ? formatWhen(job.created) : ''].filter(Boolean).join(', ');
}

// The time for today's jobs, the date and time for older ones.
function formatWhen(seconds) {
  const date = new Date(seconds * 1000);
  const today = date.toDateString() === new Date().toDateString();
  return today
    ? date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : date.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

function selectJob(job, scroll = true) {
  startShowing(job, contentUrl(job));
  if (ACTIVE.includes(job.status)) follow(job.id);
  if (scroll) showPicturePanel();
}

// On a phone the picture is below the controls: bring it into view (on a desktop this rarely moves).
function showPicturePanel() {
  document.querySelector('.picture').scrollIntoView({ behavior: 'smooth', block: 'nearest' });
}

// ---------- start ----------

function bind() {
  $('photo-input').addEventListener('change', (e) => choosePhoto(e.target.files[0]));
  $('photo-preview').addEventListener('error', onPhotoPreviewError);
  $('style-upload').addEventListener('change', onPaintingsChosen);
  document.querySelectorAll('input[name="method"]').forEach((radio) => radio.addEventListener('change', onMethodChange));
  $('size').addEventListener('change', () => { state.sizeTouched = true; });
  $('strength').addEventListener('input', () => {
    $('strength-value').textContent = Number($('strength').value).toFixed(2);
    scheduleLivePaint();
  });
  $('blend').addEventListener('input', () => {
    const second = Math.round(Number($('blend').value) * 100);
    $('blend-value').textContent = `${100 - second}% / ${second}%`;
    scheduleLivePaint();
  });
  $('paint-button').addEventListener('click', onPaint);
  $('cancel-button').addEventListener('click', onCancel);
  $('compare-slider').addEventListener('input', updateCompare);
  $('download-link').addEventListener('click', onAuthDownload);
  $('error-close').addEventListener('click', hideError);
  $('token-form').addEventListener('submit', onTokenSubmit);
  $('history-refresh').addEventListener('click', refreshHistory);
  $('style-filter').addEventListener('input', applyFilter);
  $('preview-mine').addEventListener('click', onPreviewMine);
  $('preview-sample').addEventListener('click', previewOnSample);
  $('mask-photo').addEventListener('load', onMaskPhotoLoad);
  $('mask-photo').addEventListener('error', onMaskPhotoError);
  $('mask-canvas').addEventListener('pointerdown', onMaskDown);
  $('mask-canvas').addEventListener('pointermove', onMaskMove);
  $('mask-canvas').addEventListener('pointerup', onMaskUp);
  $('mask-canvas').addEventListener('pointercancel', onMaskUp);
  $('mask-size').addEventListener('input', () => { $('mask-size-value').textContent = `${$('mask-size').value} px`; });
  $('mask-clear').addEventListener('click', () => {
    clearMask();
    scheduleLivePaint();
  });
  setUpDropZone();
}

async function start() {
  bind();
  renderPalette();
  onMethodChange();
  updateCompare();
  document.body.dataset.previewCount = '0';
  loadModels();
  // After a reload, pick up a job that is still being painted.
  const jobs = await refreshHistory();
  const active = jobs.find((job) => ACTIVE.includes(job.status));
  if (active && !state.jobId) selectJob(active, false);
}

start();
