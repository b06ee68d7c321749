#!/bin/sh
# Render one frame of a POV-Ray animation.
#
# Reads /golem/work/params.json (override with $PARAMS):
#   scene      path of the .pov file         default "/golem/resource/scene.pov"
#   frame      frame number, 0 … frames-1    required
#   frames     frames in the animation       default 1
#   width      pixels, 1 … 8192              default 320
#   height     pixels, 1 … 8192              default 240
#   quality    POV-Ray quality, 0 … 11       default 9
#   antialias  true/false                    default false
# and writes /golem/output/frame-NNNN.png (NNNN = frame, zero-padded), with the animation clock
# set to frame/frames (0 ≤ clock < 1, so the animation loops). Bad params: exit 2, reason on stderr.
set -eu

PARAMS=${PARAMS:-/golem/work/params.json}
OUT_DIR=${OUT_DIR:-/golem/output}

fail() {
  echo "render.sh: $*" >&2
  exit 2
}

[ -r "$PARAMS" ] || fail "cannot read $PARAMS"

# Validate with jq and print shell assignments (values quoted with @sh).
vars=$(jq -r '
  def int($k; $min; $max; $default):
    (if has($k) then .[$k] else $default end) as $v
    | if ($v | type) != "number" or ($v | floor) != $v or $v < $min or $v > $max
      then error("\($k) must be an integer from \($min) to \($max), got \($v | tojson)")
      else $v end;
  if type != "object" then error("params must be a JSON object, got \(type)") else . end
  | (if has("frame") then . else error("frame is required") end)
  | int("frames"; 1; 1000000; 1) as $frames
  | int("frame"; 0; $frames - 1; 0) as $frame
  | int("width"; 1; 8192; 320) as $width
  | int("height"; 1; 8192; 240) as $height
  | int("quality"; 0; 11; 9) as $quality
  | (if has("antialias") then .antialias else false end) as $aa
  | if ($aa | type) != "boolean" then error("antialias must be true or false, got \($aa | tojson)") else . end
  | (if has("scene") then .scene else "/golem/resource/scene.pov" end) as $scene
  | if ($scene | type) != "string" or ($scene | length) == 0
    then error("scene must be a path, got \($scene | tojson)") else . end
  | "SCENE=\($scene | @sh)",
    "FRAME=\($frame)",
    "FRAMES=\($frames)",
    "WIDTH=\($width)",
    "HEIGHT=\($height)",
    "QUALITY=\($quality)",
    "ANTIALIAS=\($aa)",
    "CLOCK=\($frame / $frames)"
' "$PARAMS" 2>&1) || fail "bad $PARAMS: $(printf '%s\n' "$vars" | sed -e 's/^jq: error (at [^)]*): //' | head -n 3)"
eval "$vars"

[ -r "$SCENE" ] || fail "scene $SCENE does not exist or cannot be read"
mkdir -p "$OUT_DIR"
OUT=$(printf '%s/frame-%04d.png' "$OUT_DIR" "$FRAME")
if [ "$ANTIALIAS" = true ]; then AA=+A0.3; else AA=-A; fi

# -D: no display; +FN: PNG; +K: the clock; FRAME/FRAMES are declared for scenes that want them.
# POV-Ray's banner and statistics go to a log, shown (its tail, on stderr) only when it fails.
LOG=$(mktemp /tmp/render.XXXXXX)
trap 'rm -f "$LOG"' EXIT
if ! povray -D -V +FN "+I$SCENE" "+O$OUT" "+W$WIDTH" "+H$HEIGHT" "+Q$QUALITY" "$AA" \
  "+K$CLOCK" "Declare=FRAME=$FRAME" "Declare=FRAMES=$FRAMES" "+L$(dirname "$SCENE")" >"$LOG" 2>&1; then
  tail -n 25 "$LOG" >&2
  echo "render.sh: povray failed on $SCENE (frame $FRAME of $FRAMES)" >&2
  exit 1
fi
[ -s "$OUT" ] || fail "povray wrote no image to $OUT"
echo "rendered $OUT (${WIDTH}x${HEIGHT}, clock $CLOCK)"
