#!/usr/bin/env bash
# LiFT on real skeletons (docs/lift.md, "On real skeletons"): the commands behind its tables, in
# order, on CPU with the small config. `make real-table` runs it; expect hours on 2 shared cores.
#
# Per-source releases from the raw files in $REALDATA (Fit3D: 4 subjects; UI-PRMD: the Kinect
# files of the release layout; KIMORE: 4 exports), until the real-data release (dist/olympia-real)
# carries them all: then point the lift commands at it with --source.
set -euo pipefail
REALDATA=${REALDATA:-../shared/realdata}
WORK=${WORK:-work}
BIN=${BIN:-.venv/bin}
R=$WORK/real
mkdir -p "$R/raw" "$R/recipes"

# 1. Raw files as the adapters read them: the shared copies are gzipped (.json.gz, .txt.gz), and
#    the KIMORE exports are renamed out of their release layout.
unpack() {   # unpack SRC_DIR DST_DIR: every file, .gz decompressed
    (cd "$1" && find . -type f) | while read -r f; do
        mkdir -p "$2/$(dirname "$f")"
        case "$f" in *.gz) [ -f "$2/${f%.gz}" ] || gzip -dc "$1/$f" > "$2/${f%.gz}" ;;
                     *) [ -f "$2/$f" ] || cp "$1/$f" "$2/$f" ;; esac
    done
}
for s in s03 s04 s05 s07; do
    unpack "$REALDATA/fit3d/train/$s/joints3d_25" "$R/raw/fit3d/train/$s/joints3d_25"
    cp "$REALDATA/fit3d/train/$s/rep_ann.json" "$R/raw/fit3d/train/$s/"
done
for d in "Segmented Movements" "Incorrect Segmented Movements"; do   # Kinect only: Vicon is unsupported
    unpack "$REALDATA/uiprmd_release/$d/Kinect" "$R/raw/uiprmd/$d/Kinect"
done
for s in A:"" B:"(2)"; do
    for e in 1 2; do
        mkdir -p "$R/raw/kimore/CG/Expert/${s%%:*}/Es$e/Raw"
        cp "$REALDATA/kimore/JointPositionExercise$e${s#*:}.csv" "$R/raw/kimore/CG/Expert/${s%%:*}/Es$e/Raw/JointPositionExercise$e.csv"
    done
done

# 2. Clip stores and releases (split by subject: group mode).
for src in fit3d uiprmd kimore; do
    "$BIN/olympia" ingest "$src" "$R/raw/$src" --out "$R/stores/$src" --quiet
    printf 'release: {name: olympia-%s, split_mode: group, seed: 0, license: other}\ndemo: null\nstores: [stores/%s]\n' \
        "$src" "$src" > "$R/recipes/$src.yaml"          # paths resolve from the recipe's parent's parent: $R
    "$BIN/olympia" build --recipe "$R/recipes/$src.yaml" --out "$R/releases/$src"
done

# 3. Train on Fit3D's train subjects (early stopping on the validation subject).
F=$R/releases/fit3d
"$BIN/lift" train --release "$F" --config small --out "$R/lift/paper" --quiet                 # the paper's design
"$BIN/lift" train --release "$F" --config small --out "$R/lift/recut" --recut 2-8 --quiet     # rep-diverse windows
"$BIN/lift" train --release "$F" --config small --out "$R/lift/recut/single_class" --recut 2-8 \
    --targets single_class --quiet                                                           # Table 4 baseline

# 4. Evaluate on the test subject: the clips as annotated, and re-cut to 2..8 reps.
for ck in paper recut; do
    "$BIN/lift" evaluate --release "$F" --checkpoint "$R/lift/$ck" --out "$R/lift/$ck/eval" --quiet
    "$BIN/lift" evaluate --release "$F" --checkpoint "$R/lift/$ck" --out "$R/lift/$ck/eval-recut" --recut 2-8 --quiet
done

# 5. Zero- and few-shot on the evaluation-only sources (vocabulary extension, method.md §9).
U=$R/releases/uiprmd
for shots in 0 40 80; do
    "$BIN/lift" fewshot --release "$U" --checkpoint "$R/lift/recut" --source uiprmd --shots "$shots" \
        --out "$R/lift/uiprmd-$shots" --quiet
done
"$BIN/lift" fewshot --release "$R/releases/kimore" --checkpoint "$R/lift/recut" --source kimore --shots 0 \
    --out "$R/lift/kimore-0" --quiet
