#!/usr/bin/env python3
"""A contact sheet: one row per example, one labelled column per picture.

    /usr/bin/python3 bench/contact_sheet.py -o sheet.jpg --columns photo,painting,Magenta \
        --row a.png,b.png,c.png --row d.png,e.png,f.png [--height 200]
Every picture is scaled to the row height (the painting's centred square
kept whole); a missing file leaves a grey cell marked "(none)".
"""
import argparse
from pathlib import Path

from PIL import Image, ImageDraw

LABEL_HEIGHT = 22
GAP = 6


def cell(path, height):
    if not Path(path).exists():
        image = Image.new("RGB", (height, height), (128, 128, 128))
        ImageDraw.Draw(image).text((8, height // 2), "(none)", fill=(255, 255, 255))
        return image
    image = Image.open(path).convert("RGB")
    return image.resize((max(1, round(image.width * height / image.height)), height), Image.LANCZOS)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--columns", required=True, help="comma list of column labels")
    parser.add_argument("--row", action="append", required=True, help="comma list of pictures, one per column")
    parser.add_argument("--height", type=int, default=200)
    args = parser.parse_args()
    labels = args.columns.split(",")
    rows = [[cell(path, args.height) for path in row.split(",")] for row in args.row]
    if any(len(row) != len(labels) for row in rows):
        raise SystemExit("every --row needs one picture per column")
    widths = [max(row[i].width for row in rows) for i in range(len(labels))]
    sheet = Image.new("RGB", (sum(widths) + GAP * (len(widths) + 1),
                              LABEL_HEIGHT + len(rows) * (args.height + GAP) + GAP), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    x = GAP
    for label, width in zip(labels, widths):
        draw.text((x + 4, 5), label, fill=(0, 0, 0))
        x += width + GAP
    for r, row in enumerate(rows):
        x, y = GAP, LABEL_HEIGHT + r * (args.height + GAP)
        for image, width in zip(row, widths):
            sheet.paste(image, (x + (width - image.width) // 2, y))
            x += width + GAP
    sheet.save(args.output, quality=88)


if __name__ == "__main__":
    main()
