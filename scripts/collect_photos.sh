#!/usr/bin/env bash
# Gathers the photographs that Debian packages ship (opencv-doc, python3-skimage)
# and ../shared/images/content into one folder, for training and tests:
#   scripts/collect_photos.sh OUT_DIR
# Drawings, logos, text, charts and synthetic patterns are left out; so are
# the opencv-doc Starry Night (a painting) and the stereo calibration shots.
set -euo pipefail
out=${1:?usage: scripts/collect_photos.sh OUT_DIR}
cd "$(dirname "$0")/.."
mkdir -p "$out"
opencv=/usr/share/doc/opencv-doc/examples
skimage=/usr/lib/python3/dist-packages/skimage/data
photos=(
  "$opencv"/data/{fruits,baboon,HappyFish,leuvenA,leuvenB,messi5,home,building,butterfly,orange,apple,aero1,aero3}.jpg
  "$opencv"/data/{squirrel_cls,ela_original,board,lena,graf1,graf3,aloeL,aloeR,Blender_Suzanne1,Blender_Suzanne2}.jpg
  "$opencv"/data/{left01,right01,stuff,pca_test1,licenseplate_motion,text_defocus,text_motion}.jpg
  "$opencv"/data/{basketball1,box_in_scene,chicky_512,pic1,pic3,pic5,rubberwhale1,smarties,graf1}.png
  "$opencv"/alphamat/input_images/plant.jpg "$opencv"/hfs/data/{000,001,002}.jpg
  "$opencv"/text/scenetext0{1,2,3,4,5,6}.jpg
  "$skimage"/{astronaut,chelsea,coffee,rocket,motorcycle_left,hubble_deep_field,retina,immunohistochemistry}.{png,jpg}
  ../shared/images/content/*
)
count=0
for photo in "${photos[@]}"; do
  [ -f "$photo" ] || continue
  parent=$(basename "$(dirname "$photo")")
  cp "$photo" "$out/${parent}_$(basename "$photo")"
  count=$((count + 1))
done
echo "$count photos in $out"
