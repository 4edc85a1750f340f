"""Write the K710 -> K400/K600/K700 head channel map as JSON (a list of K710 rows)."""
import argparse
import json

from umt_mm.converters import build_channel_map
from umt_mm.data import label_map_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('dataset', choices=['k400', 'k600', 'k700'])
    parser.add_argument('target_labels', help='label map of the dataset: a bundled name '
                        '(k400, k600, k700) or a file, one class per line')
    parser.add_argument('k710_labels', help='the 710-class label map: k710 (bundled) or a file')
    parser.add_argument('out', help='output JSON file')
    args = parser.parse_args()
    channel_map = build_channel_map(label_map_path(args.target_labels),
                                    label_map_path(args.k710_labels), args.dataset)
    with open(args.out, 'w') as f:
        json.dump(channel_map, f)
    print(f'wrote {len(channel_map)} K710 rows for {args.dataset} to {args.out}')


if __name__ == '__main__':
    main()
