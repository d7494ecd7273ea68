// Browser test of the Atelier Studio page against a running `atelier serve`.
//   node studio.test.mjs --url http://127.0.0.1:PORT --photo PATH --screenshots DIR [--painting PATH]
// Prints `ok - <step>` per step; on failure `not ok - <reason>`, saves failure.png and exits 1.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const GLOBAL_TIMEOUT_MS = 180_000;  // room for the gallery (14 styles painted twice) on a busy machine
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const TERMINAL = ['done', 'failed', 'cancelled', 'interrupted'];

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) throw new Error(`bad argument ${argv[i]}`);
    args[argv[i].slice(2)] = argv[i + 1];
  }
  for (const name of ['url', 'photo', 'screenshots']) {
    if (!args[name]) throw new Error(`missing --${name}`);
  }
  args.painting = args.painting || args.photo;
  return args;
}

const ok = (message) => console.log(`ok - ${message}`);

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// Records console errors and failed same-origin requests; `expected` silences them for the error-path step.
function watchPage(page, origin, problems) {
  const sameOrigin = (url) => url.startsWith(origin + '/') || url === origin;
  const add = (text) => { if (!problems.expected) problems.list.push(text); };
  page.on('console', (msg) => { if (msg.type() === 'error') add(`console error: ${msg.text()}`); });
  page.on('pageerror', (err) => add(`page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    const error = req.failure()?.errorText || '';
    // Chromium reports a fetch stream read to its end (the job's event stream) as ERR_ABORTED: not a failure.
    if (/\/events$/.test(new URL(req.url()).pathname) && error === 'net::ERR_ABORTED') return;
    if (sameOrigin(req.url())) add(`request failed: ${req.method()} ${req.url()} ${error}`);
  });
  page.on('response', (res) => {
    if (sameOrigin(res.url()) && res.status() >= 400) add(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
  });
}

function assertClean(problems, where) {
  check(problems.list.length === 0, `${where}: ${problems.list.join('; ')}`);
  ok(`${where}: no console errors and no failed same-origin requests`);
}

// Logs every change of the job state or preview count in the page (a fast job cannot slip past), starting
// afresh for the next job: an earlier job's `done` must not count.
async function recordTimeline(page) {
  await page.evaluate(() => {
    window.__timeline = [];
    // True once the job started after this call has ended, or an error is shown.
    window.__jobEnded = (terminal) => {
      const started = window.__timeline.some((e) => e.state === 'queued' || e.state === 'running');
      const banner = document.getElementById('error-banner');
      return (started && terminal.includes(document.body.dataset.jobState)) || (banner && !banner.hidden);
    };
    if (window.__observer) return;
    const record = () => window.__timeline.push({
      state: document.body.dataset.jobState,
      previews: Number(document.body.dataset.previewCount || 0),
      progress: document.getElementById('progress').value,
    });
    window.__observer = new MutationObserver(record);
    window.__observer.observe(document.body,
      { attributes: true, attributeFilter: ['data-job-state', 'data-preview-count'] });
  });
}


async function bannerText(page) {
  return page.evaluate(() => {
    const banner = document.getElementById('error-banner').cloneNode(true);
    banner.querySelectorAll('button').forEach((b) => b.remove());
    return banner.textContent.trim();
  });
}

async function checkNoBanner(page, what) {
  check(!(await page.isVisible('#error-banner')), `${what}: error banner "${await bannerText(page)}"`);
}

// Waits for the job started after recordTimeline() to end, and insists that it ended as `done`.
async function waitForDone(page, what) {
  await page.waitForFunction((t) => window.__jobEnded(t), TERMINAL, { timeout: 120_000 });
  await checkNoBanner(page, what);
  const jobState = await page.evaluate(() => document.body.dataset.jobState);
  const status = (await page.textContent('#status-text')).trim();
  check(jobState === 'done', `${what} ended as ${jobState}: ${status}`);
  ok(`${what} done (${status})`);
}

async function waitForLoadedResult(page) {
  await page.waitForFunction(() => {
    const img = document.getElementById('live-image');
    return img.complete && img.naturalWidth > 0 && !img.src.startsWith('data:');
  }, null, { timeout: 15_000 });
}

async function loadPage(page, url) {
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('#style-gallery .style-tile', { timeout: 15_000 });
  return page.locator('#style-gallery .style-tile').count();
}

const apiUrl = (args, path) => `${args.url.replace(/\/$/, '')}/api/v1${path}`;

// Each tile's label as shown: its text, its lines (line boxes of its visible parts) and whether any is cut off.
function tileLabels() {
  return Array.from(document.querySelectorAll('#style-gallery .style-tile'), (tile) => {
    const caption = tile.querySelector('.style-caption');
    const tops = [];
    for (const part of caption.querySelectorAll('.style-title, .style-qualifier')) {
      const range = document.createRange();
      range.selectNodeContents(part);
      for (const rect of range.getClientRects()) {
        if (rect.width > 0 && !tops.some((top) => Math.abs(top - rect.top) < 3)) tops.push(rect.top);
      }
    }
    const clipped = caption.scrollWidth > caption.clientWidth + 1 || caption.scrollHeight > caption.clientHeight + 1;
    return { model: tile.dataset.model, text: caption.textContent, lines: tops.length, tooltip: tile.title, clipped };
  });
}

// Labels: the API's display names, each unique, without '/', on at most two lines, nothing cut off; the stable
// name in the tooltip.
async function checkLabels(page, args, where) {
  const { styles } = await (await page.request.get(apiUrl(args, '/models'))).json();
  const labels = await page.evaluate(tileLabels);
  check(labels.length === styles.length, `${where}: ${labels.length} tiles for ${styles.length} styles`);
  const names = new Map(styles.map((style) => [style.name, style.display_name]));
  const seen = new Set();
  for (const label of labels) {
    check(label.text === names.get(label.model), `${where}: "${label.text}" is not the API's "${names.get(label.model)}"`);
    check(!seen.has(label.text), `${where}: two styles are labelled "${label.text}"`);
    seen.add(label.text);
    check(!label.text.includes('/'), `${where}: the label "${label.text}" holds a '/'`);
    check(label.lines >= 1 && label.lines <= 2 && !label.clipped,
      `${where}: "${label.text}" takes ${label.lines} lines${label.clipped ? ', cut off' : ''}`);
    check(label.tooltip.includes(label.model), `${where}: the tooltip "${label.tooltip}" lacks ${label.model}`);
  }
  const most = Math.max(...labels.map((label) => label.lines));
  ok(`${where}: ${labels.length} labels, unique, no '/', at most ${most} lines each (e.g. "${labels[0].text}")`);
}

// Every tile's picture is the loaded preview of `photo`.
async function waitForPreviews(page, photo, timeout) {
  await page.waitForFunction((id) => {
    const images = Array.from(document.querySelectorAll('#style-gallery .style-tile img'));
    return document.body.dataset.previewsReady === id &&
      images.every((img) => img.dataset.photo === id && img.complete && img.naturalWidth > 0);
  }, photo, { timeout });
}

// Families fold, and the filter box narrows the gallery to what it names.
async function checkFamiliesAndFilter(page, args) {
  const families = page.locator('#style-gallery .style-family');
  const count = await families.count();
  check(count >= 1, 'the gallery shows no family');
  const first = families.first();
  await first.locator('summary').click();
  check(!(await first.locator('.style-tile').first().isVisible()), 'a folded family still shows its styles');
  await first.locator('summary').click();
  check(await first.locator('.style-tile').first().isVisible(), 'an unfolded family hides its styles');
  const { styles } = await (await page.request.get(apiUrl(args, '/models'))).json();
  if (styles.length > 8) {
    check(await page.isVisible('#style-filter'), `no filter box for ${styles.length} styles`);
    await page.fill('#style-filter', 'udnie');
    const shown = await page.locator('#style-gallery .style-tile:visible').count();
    const expected = styles.filter((s) => [s.display_name, s.artist, s.family_name, s.name].join(' ').toLowerCase()
      .includes('udnie')).length;
    check(shown === expected && shown >= 1, `filtering "udnie" shows ${shown} styles, expected ${expected}`);
    await page.fill('#style-filter', '');
    check(await page.locator('#style-gallery .style-tile:visible').count() === styles.length, 'clearing the filter');
    ok(`${count} families fold; the filter "udnie" shows ${shown} of ${styles.length} styles`);
  } else {
    ok(`${count} families fold (${styles.length} styles: no filter box needed)`);
  }
}

// The gallery on the sample photo, then "Preview on my photo": every style painted on the chosen photo, timed.
async function checkGallery(page, args) {
  await waitForPreviews(page, 'builtin', 90_000);
  ok('every style shows its preview on the sample photo');
  await checkLabels(page, args, 'desktop');
  await checkFamiliesAndFilter(page, args);
  await page.locator('section.controls').screenshot({ path: path.join(args.screenshots, 'studio_gallery.png') });
  ok('screenshot studio_gallery.png');
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('#preview-mine')]);
  const started = Date.now();
  await chooser.setFiles(args.photo);
  await page.waitForFunction(() => !['', 'builtin', undefined].includes(document.body.dataset.previewsReady), null,
    { timeout: 60_000 });
  const photo = await page.evaluate(() => document.body.dataset.previewsReady);
  await waitForPreviews(page, photo, 15_000);
  const seconds = (Date.now() - started) / 1000;
  const count = await page.locator('#style-gallery .style-tile').count();
  ok(`preview on my photo: ${count} styles painted on ${path.basename(args.photo)} and shown in ${seconds.toFixed(1)} s`);
}

async function fastJob(page, args) {
  await page.setInputFiles('#photo-input', args.photo);
  const tile = page.locator('#style-gallery .style-tile').first();
  const model = await tile.getAttribute('data-model');
  await tile.click();
  check(await tile.evaluate((el) => el.classList.contains('selected')), 'the clicked style tile is not marked selected');
  await recordTimeline(page);
  await page.click('#paint-button');
  await waitForDone(page, `fast job with style "${model}"`);
  await waitForLoadedResult(page);
  ok('#live-image shows the loaded result');
}

async function checkDownload(page) {
  const link = page.locator('#download-link');
  check(await link.isVisible(), '#download-link is not visible after the job finished');
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), link.click()]);
  // Saved outside the screenshot folder (docs/), which keeps only screenshots.
  const saved = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'atelier-download-')), 'result.png');
  await download.saveAs(saved);
  const head = fs.readFileSync(saved).subarray(0, 8);
  check(head.equals(PNG_SIGNATURE), `the download (${download.suggestedFilename()}) is not a PNG`);
  ok(`download link saved a PNG (${download.suggestedFilename()}, ${fs.statSync(saved).size} bytes)`);
}

// The job shown in the picture panel, as the API describes it.
async function shownJob(page, args) {
  const id = await page.evaluate(() => document.body.dataset.jobId);
  const answer = await page.request.get(`${args.url.replace(/\/$/, '')}/api/v1/jobs/${id}`);
  check(answer.ok(), `GET job ${id} answered ${answer.status()}`);
  return answer.json();
}

async function resultBytes(page, args, job) {
  const answer = await page.request.get(`${args.url.replace(/\/$/, '')}${job.result_url}`);
  check(answer.ok(), `GET ${job.result_url} answered ${answer.status()}`);
  return answer.body();
}

// Moves a range input from the keyboard (as a keyboard user does): `presses` of `key`.
async function pressOn(page, selector, key, presses) {
  await page.focus(selector);
  for (let i = 0; i < presses; i += 1) await page.keyboard.press(key);
}

// Waits for the live repaint that a slider move starts: a new job shown, ended as done.
async function waitForRepaint(page, previousId, what) {
  await page.waitForFunction((id) => document.body.dataset.jobId !== id, previousId, { timeout: 15_000 });
  await waitForDone(page, what);
  await waitForLoadedResult(page);
}

// An uploaded painting is painted by Magenta in one pass, the default for one's own painting; the strength
// slider repaints live (from the keyboard), and two paintings blend by the blend slider.
async function magentaJob(page, args) {
  await page.selectOption('#size', '256');
  await page.setInputFiles('#style-upload', args.painting);
  check(await page.isChecked('#method-magenta'), 'uploading a painting did not choose the instant (Magenta) method');
  check(await page.isVisible('#live-note'), 'the live-repaint note is not shown for Magenta');
  check(!(await page.isVisible('#method-adain')), 'AdaIN is offered on a server without its networks');
  await recordTimeline(page);
  await page.click('#paint-button');
  await waitForDone(page, 'Magenta job with an uploaded painting');
  await waitForLoadedResult(page);
  const strong = await shownJob(page, args);
  check(strong.method === 'magenta' && strong.params.strength === 1,
    `the first job is ${strong.method} at strength ${strong.params.strength}`);
  ok(`Magenta painted ${strong.width}x${strong.height} in ${(strong.finished - strong.started).toFixed(2)} s`);

  const jobsBefore = (await (await page.request.get(`${args.url.replace(/\/$/, '')}/api/v1/jobs?limit=100`)).json()).jobs;
  await recordTimeline(page);
  await pressOn(page, '#strength', 'ArrowLeft', 14);
  check(await page.inputValue('#strength') === '0.3', `#strength is ${await page.inputValue('#strength')} after 14 ArrowLeft`);
  await waitForRepaint(page, strong.id, 'live repaint at strength 0.30');
  const weak = await shownJob(page, args);
  check(weak.method === 'magenta' && Math.abs(weak.params.strength - 0.3) < 1e-9,
    `the repaint is ${weak.method} at strength ${weak.params.strength}`);
  const [strongPng, weakPng] = [await resultBytes(page, args, strong), await resultBytes(page, args, weak)];
  check(!strongPng.equals(weakPng), 'the paintings at strength 1.00 and 0.30 are the same file');
  const jobsAfter = (await (await page.request.get(`${args.url.replace(/\/$/, '')}/api/v1/jobs?limit=100`)).json()).jobs;
  const started = jobsAfter.length - jobsBefore.length;
  check(started >= 1 && started <= 3, `14 key presses on the slider started ${started} jobs (debouncing expected)`);
  ok(`the strength slider repainted live: strength 0.30 in ${(weak.finished - weak.started).toFixed(2)} s, ` +
    `a different picture (${started} job(s) for 14 key presses)`);
  await page.screenshot({ path: path.join(args.screenshots, 'studio_magenta.png'), fullPage: true });
  ok('screenshot studio_magenta.png');

  // Two paintings: the blend slider appears; all the way to the second painting is another picture.
  await page.setInputFiles('#style-upload', [args.painting, args.photo]);
  check(await page.isChecked('#method-magenta'), 'uploading two paintings left the Magenta method');
  check(await page.isVisible('#blend'), 'the blend slider is not shown for two paintings');
  await recordTimeline(page);
  await pressOn(page, '#blend', 'End', 1);
  await waitForRepaint(page, weak.id, 'live repaint blending two paintings');
  const blended = await shownJob(page, args);
  check(JSON.stringify(blended.params.style_blend) === '[0,1]' && blended.params.styles === 2,
    `the blend job has style_blend ${JSON.stringify(blended.params.style_blend)} for ${blended.params.styles} paintings`);
  check(!(await resultBytes(page, args, blended)).equals(weakPng), 'blending in the second painting changed nothing');
  ok(`blend slider: style_blend ${JSON.stringify(blended.params.style_blend)} repainted live`);
  // Back to full strength for the optimisation below (with Gatys chosen first, so that nothing repaints).
  await page.check('#method-gatys');
  await pressOn(page, '#strength', 'End', 1);
}

// A Magenta job of one painting, posted through the API at `size`: the reference a masked result is held to.
async function referenceJob(page, args, painting, size) {
  const file = (name) => ({ name: path.basename(name), mimeType: 'application/octet-stream', buffer: fs.readFileSync(name) });
  const posted = await page.request.post(apiUrl(args, '/jobs'), {
    multipart: { content: file(args.photo), style: file(painting), method: 'magenta', size: String(size) },
  });
  check(posted.status() === 202, `a reference job answered ${posted.status()}: ${await posted.text()}`);
  const { id } = await posted.json();
  for (let i = 0; i < 600; i += 1) {
    const job = await (await page.request.get(apiUrl(args, `/jobs/${id}`))).json();
    if (job.status === 'done') return job;
    check(!TERMINAL.includes(job.status), `a reference job ended ${job.status}: ${job.message}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('a reference job did not finish');
}

// Mean differences (0..255) of the masked result from each painting's own result and from the photo, in each
// region the mask canvas holds (pixels of that colour) and where it holds none, each `margin` px from an edge
// (the regions' 4 px feathering fades out within it), measured in the page.
function maskStats({ masked, first, second, photo, width, height, colors, margin }) {
  const pixels = async (source) => {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingQuality = 'high';  // the photo, shrunk here, as the server's area average does
    if (typeof source === 'string') {
      const img = new Image();
      img.src = source;
      await img.decode();
      ctx.drawImage(img, 0, 0, width, height);
    } else {
      ctx.drawImage(source, 0, 0, width, height);
    }
    return ctx.getImageData(0, 0, width, height).data;
  };
  const sources = [masked, first, second, photo, document.getElementById('mask-canvas')];
  return Promise.all(sources.map(pixels)).then(([m, a, b, p, mask]) => {
    // Which part a mask pixel is: 0, 1 (a region's colour, opaque), 2 (unpainted) or -1 (an edge).
    const reds = colors.map((hex) => parseInt(hex.slice(1, 3), 16));
    const part = (i) => {
      if (mask[i + 3] === 0) return 2;
      if (mask[i + 3] < 250) return -1;
      const k = reds.findIndex((red) => Math.abs(mask[i] - red) < 8);
      return k;
    };
    const parts = new Int8Array(width * height);
    for (let i = 0; i < width * height; i += 1) parts[i] = part(i * 4);
    const inside = (x, y) => {
      const own = parts[y * width + x];
      for (let dy = -margin; dy <= margin; dy += 1) {
        for (let dx = -margin; dx <= margin; dx += 1) {
          const xx = Math.min(width - 1, Math.max(0, x + dx)), yy = Math.min(height - 1, Math.max(0, y + dy));
          if (parts[yy * width + xx] !== own) return -1;
        }
      }
      return own;
    };
    const sums = [0, 1, 2].map(() => ({ n: 0, a: 0, b: 0, p: 0, ab: 0 }));
    for (let y = 0; y < height; y += 1) {
      for (let x = 0; x < width; x += 1) {
        const k = inside(x, y);
        if (k < 0) continue;
        const i = (y * width + x) * 4;
        const sum = sums[k];
        sum.n += 1;
        for (let c = 0; c < 3; c += 1) {
          sum.a += Math.abs(m[i + c] - a[i + c]) / 3;
          sum.b += Math.abs(m[i + c] - b[i + c]) / 3;
          sum.p += Math.abs(m[i + c] - p[i + c]) / 3;
          sum.ab += Math.abs(a[i + c] - b[i + c]) / 3;
        }
      }
    }
    for (const sum of sums) {
      for (const key of ['a', 'b', 'p', 'ab']) sum[key] /= Math.max(1, sum.n);
      sum.share = sum.n / (width * height);
    }
    return sums;
  });
}

// Brushes the columns between fractions `from` and `to` of the mask canvas, in one zigzag stroke.
async function brushColumns(page, box, brush, from, to) {
  let x = box.width * from + brush / 2, atTop = true;
  await page.mouse.move(box.x + x, box.y + 2);
  await page.mouse.down();
  for (;;) {
    const y = atTop ? box.height - 2 : 2;  // to the other end
    await page.mouse.move(box.x + x, box.y + y, { steps: 6 });
    atTop = !atTop;
    if (x + brush * 0.7 >= box.width * to - brush / 2) break;
    x += brush * 0.7;
    await page.mouse.move(box.x + x, box.y + y, { steps: 2 });
  }
  await page.mouse.up();
}

// The mask tool: region 1 brushed down the left of the photo and bound to the first painting, region 2 down the
// right and bound to the second; the result is each painting's own result (posted through the API) in its region
// and the photo between.
async function maskJob(page, args) {
  check(await page.isVisible('#mask-tool'), 'the mask tool is not shown for the photo');
  await page.click('#mask-summary');
  await page.check('#method-magenta');  // the two paintings of the step above
  check(await page.isVisible('#blend'), 'no blend slider for two paintings before a mask is painted');
  await page.check('#method-gatys');  // nothing repaints live while the mask is made
  await page.selectOption('#mask-style-0', 'upload:0');
  await page.selectOption('#mask-style-1', 'upload:1');
  const canvas = page.locator('#mask-canvas');
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  const brush = Math.max(4, Math.min(160, 2 * Math.round(box.width * 0.1)));
  await page.evaluate((size) => {
    const slider = document.getElementById('mask-size');
    slider.value = String(size);
    slider.dispatchEvent(new Event('input', { bubbles: true }));
  }, brush);
  await brushColumns(page, box, brush, 0, 0.35);
  await page.check('#mask-color-1');
  await brushColumns(page, box, brush, 0.65, 1);
  check(!(await page.isVisible('#blend')), 'the blend slider stays shown once a mask places the paintings');
  await page.check('#method-magenta');
  await recordTimeline(page);
  await page.click('#paint-button');
  await waitForDone(page, 'Magenta job with two colour regions');
  await waitForLoadedResult(page);
  const job = await shownJob(page, args);
  const colors = await page.evaluate(() => REGION_COLORS.slice(0, 2));
  check(job.params.mask === true && job.params.styles === 2 && job.params.regions.length === 2 &&
    job.params.regions.every((region, k) => region.color === colors[k] && region.style === k + 1),
  `the masked job has mask ${job.params.mask}, ${job.params.styles} paintings, regions ` +
    `${JSON.stringify(job.params.regions)}`);
  const first = await referenceJob(page, args, args.painting, job.params.size);
  const second = await referenceJob(page, args, args.photo, job.params.size);
  const [one, two, rest] = await page.evaluate(maskStats, {
    masked: job.result_url, first: first.result_url, second: second.result_url, photo: job.content_url,
    width: job.width, height: job.height, colors, margin: 12,
  });
  check(one.share > 0.1 && two.share > 0.1 && rest.share > 0.05,
    `the regions cover ${one.share.toFixed(2)} and ${two.share.toFixed(2)} of the picture, the photo ${rest.share.toFixed(2)}`);
  check(one.ab > 5, `the two paintings' own results differ by only ${one.ab.toFixed(2)} in region 1`);
  check(one.a < 2 && two.b < 2,
    `the result differs from the first painting's by ${one.a.toFixed(2)} in region 1 and from the second's by ` +
    `${two.b.toFixed(2)} in region 2`);
  check(one.b > 5 && two.a > 5 && one.p > 5 && two.p > 5, 'a region is not its own painting\'s alone');
  check(rest.p < 5 && rest.a > 5 && rest.b > 5, `between the regions the result is ${rest.p.toFixed(2)} from the ` +
    `photo, ${rest.a.toFixed(1)} and ${rest.b.toFixed(1)} from the paintings' results`);
  ok(`mask: two regions brushed (${(one.share * 100).toFixed(0)}% and ${(two.share * 100).toFixed(0)}% of the ` +
    `photo); each is its painting's own result (mean differences ${one.a.toFixed(2)} and ${two.b.toFixed(2)}; ` +
    `${one.b.toFixed(1)} and ${two.a.toFixed(1)} from the other's), the photo between (${rest.p.toFixed(2)})`);
  // The mask and, above it, the result.
  await page.evaluate(() => document.getElementById('mask-note').scrollIntoView({ block: 'end' }));
  await page.screenshot({ path: path.join(args.screenshots, 'studio_mask.png') });
  ok('screenshot studio_mask.png');
  // Cleared (with Gatys chosen first, so that nothing repaints) for the optimisation below.
  await page.check('#method-gatys');
  await page.click('#mask-clear');
  check(!(await page.evaluate(() => document.getElementById('mask-summary').textContent.includes('painted'))),
    'Clear left the mask painted');
}

async function gatysJob(page, args) {
  await page.check('#method-gatys');
  await page.setInputFiles('#style-upload', args.painting);
  await page.fill('#iterations', '60');
  await page.selectOption('#size', '256');
  await recordTimeline(page);
  await page.click('#paint-button');

  // Wait for two previews while running (or for the end, so the timeline below can say what went wrong).
  await page.waitForFunction((t) => {
    const b = document.body.dataset;
    return (b.jobState === 'running' && Number(b.previewCount) >= 2) || window.__jobEnded(t);
  }, TERMINAL, { timeout: 120_000 });
  await checkNoBanner(page, 'optimisation job');
  const midRun = await page.evaluate(() => document.body.dataset.jobState === 'running');
  await page.screenshot({ path: path.join(args.screenshots, 'studio_running.png') });
  ok(`screenshot studio_running.png${midRun ? '' : ' (taken after the job ended: it ran too fast)'}`);

  await waitForDone(page, 'optimisation job (60 iterations, 256 px)');
  const timeline = await page.evaluate(() => window.__timeline);
  const running = timeline.filter((e) => e.state === 'running');
  const previews = Math.max(0, ...running.map((e) => e.previews));
  check(previews >= 2, `only ${previews} preview(s) arrived while running`);
  const first = running.find((e) => e.previews >= 1) || running[0];
  check(first && running.some((e) => e.progress > first.progress),
    `#progress did not increase while running (${JSON.stringify(running.map((e) => e.progress))})`);
  ok(`${previews} previews arrived while running; #progress rose from ${first.progress.toFixed(2)}`);
  await waitForLoadedResult(page);
  await page.screenshot({ path: path.join(args.screenshots, 'studio_desktop.png') });
  ok('screenshot studio_desktop.png');
}

// Fraction (0..1) of #compare's width where the result is visible: widths and inset() clips of #live-image and
// its ancestors inside #compare.
function visibleFraction() {
  const compare = document.getElementById('compare');
  const total = compare.getBoundingClientRect().width;
  let visible = 1;
  for (let el = document.getElementById('live-image'); el && el !== compare; el = el.parentElement) {
    const width = el.getBoundingClientRect().width;
    visible = Math.min(visible, width / total);
    const clip = /^inset\(([^)]*)\)/.exec(getComputedStyle(el).clipPath);
    if (!clip) continue;
    const v = clip[1].split(/\s+/).filter((s) => !s.startsWith('round')).slice(0, 4);
    const [, right, , left] = [v[0], v[1] ?? v[0], v[2] ?? v[0], v[3] ?? v[1] ?? v[0]];
    const px = (s) => (s.endsWith('%') ? (parseFloat(s) / 100) * width : parseFloat(s) || 0);
    visible = Math.min(visible, Math.max(0, width - px(left) - px(right)) / total);
  }
  return visible;
}

async function checkCompareSlider(page) {
  const before = await page.evaluate(visibleFraction);
  const slider = page.locator('#compare-slider');
  await slider.scrollIntoViewIfNeeded();
  const box = await slider.boundingBox();
  const value = Number(await slider.inputValue());
  const min = Number(await slider.getAttribute('min') || 0);
  const max = Number(await slider.getAttribute('max') || 100);
  const y = box.y + box.height / 2;
  // Grab the thumb where it is now and drag it to 30% of the track.
  await page.mouse.move(box.x + 8 + ((value - min) / (max - min)) * (box.width - 16), y);
  await page.mouse.down();
  await page.mouse.move(box.x + 0.3 * box.width, y, { steps: 10 });
  await page.mouse.up();
  const fraction = (Number(await slider.inputValue()) - min) / (max - min);
  check(fraction > 0.2 && fraction < 0.4, `#compare-slider is at ${fraction.toFixed(2)} after dragging to 30%`);
  const after = await page.evaluate(visibleFraction);
  check(Math.abs(after - before) > 0.2 && Math.abs(after - fraction) < 0.05,
    `the visible result went from ${before.toFixed(2)} to ${after.toFixed(2)} (slider at ${fraction.toFixed(2)})`);
  ok(`before/after slider at ${fraction.toFixed(2)}: the result now covers ${after.toFixed(2)} (was ${before.toFixed(2)})`);
}

async function checkHistory(page) {
  await page.waitForFunction(() => document.querySelectorAll('#history .history-item').length >= 2, null,
    { timeout: 10_000 });
  ok(`history shows ${await page.locator('#history .history-item').count()} jobs`);
}

// Deleting from the history: after the confirmation, the item is gone (and
// the server answers 404 for it).
async function checkDelete(page, args) {
  const items = page.locator('#history .history-item');
  const before = await items.count();
  const id = await items.last().getAttribute('data-job-id');
  page.once('dialog', (dialog) => dialog.accept());
  await items.last().locator('.history-delete').click();
  await page.waitForFunction((n) => document.querySelectorAll('#history .history-item').length === n - 1, before,
    { timeout: 10_000 });
  const answer = await page.request.get(`${args.url.replace(/\/$/, '')}/api/v1/jobs/${id}`);
  check(answer.status() === 404, `the deleted job still answers ${answer.status()}`);
  ok(`deleting a job from the history removes it (${before} -> ${before - 1} jobs)`);
}

async function phoneChecks(browser, args, problems) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  watchPage(page, new URL(args.url).origin, problems);
  await loadPage(page, args.url);
  await page.waitForSelector('#history .history-item', { timeout: 10_000 });
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  check(scrollWidth <= 391, `the phone page is ${scrollWidth} px wide (a horizontal scrollbar)`);
  check(await page.locator('#paint-button').isVisible(), '#paint-button is not visible on the phone');
  await checkLabels(page, args, 'phone');
  await page.screenshot({ path: path.join(args.screenshots, 'studio_phone.png'), fullPage: true });
  ok(`phone 390x844: no horizontal scrolling (${scrollWidth} px), Paint visible, screenshot studio_phone.png`);
  assertClean(problems, 'phone');
  return page;
}

async function errorPath(page, problems) {
  const textFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'studio-test-')), 'not-a-photo.png');
  fs.writeFileSync(textFile, 'hello');
  problems.expected = true;  // the server's 415 is logged by the browser as an error: that is the point here
  await page.setInputFiles('#photo-input', textFile);
  await page.locator('#style-gallery .style-tile').first().click();
  await page.click('#paint-button');
  const banner = page.locator('#error-banner');
  await banner.waitFor({ state: 'visible', timeout: 15_000 });
  const text = await bannerText(page);
  // The server words it "not a picture"; a decoder's message may say "image".
  check(/image|picture/i.test(text), `the error banner says "${text}", not about an image`);
  ok(`a text file as photo shows the error banner: "${text}"`);
}

async function main(args, session) {
  fs.mkdirSync(args.screenshots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'], headless: true,
  });
  session.browser = browser;
  const problems = { list: [], expected: false };
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  session.page = page;
  watchPage(page, new URL(args.url).origin, problems);

  const styles = await loadPage(page, args.url);
  ok(`page loaded at 1280x900 with ${styles} fast styles`);
  await checkGallery(page, args);
  await fastJob(page, args);
  await checkDownload(page);
  await magentaJob(page, args);
  await maskJob(page, args);
  await gatysJob(page, args);
  await checkCompareSlider(page);
  await checkHistory(page);
  await checkDelete(page, args);
  assertClean(problems, 'desktop');

  session.page = await phoneChecks(browser, args, problems);
  await errorPath(session.page, problems);
}

async function run() {
  const session = {};
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`global timeout of ${GLOBAL_TIMEOUT_MS / 1000} s`)), GLOBAL_TIMEOUT_MS);
  });
  let code = 0;
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
    await Promise.race([main(args, session), timeout]);
    console.log('ok - all browser checks passed');
  } catch (err) {
    console.log(`not ok - ${String(err.message || err).split('\n')[0]}`);
    if (session.page && args) {
      await session.page.screenshot({ path: path.join(args.screenshots, 'failure.png') }).catch(() => {});
    }
    code = 1;
  } finally {
    clearTimeout(timer);
    if (session.browser) await session.browser.close().catch(() => {});
  }
  process.exit(code);
}

run();
