# Unlabelled person crops in a LUPerson-style folder. The default is the
# embedded synthetic set written by `make data` (tools/dataset_converters/
# generate_synthetic_humans.py) into <repo>/data/synthetic; point data_root
# at a real LUPerson / LUP1M folder with --cfg-options.
data_root = '{{ fileDirname }}/../../../data/synthetic/'
dataset_type = 'LUPersonDataset'
# set skip_bad=True to drop missing/corrupt images with a warning count
load_image = dict(type='LoadCheckedImageFromFile', skip_bad=False)
