# /opt/scan-switchboard/Makefile (lab copy): the Switchboard's data, rebuilt
# from the REDCap projects. Needs the REDCap env dirs (envdir ...), as in
# production; `make -B` rebuilds everything.
all: data/sfs-redcap.sqlite data/record-barcodes.csv

data/record-barcodes.csv:
	mkdir -p data
	python3 bin/export-redcap > $@.tmp && mv $@.tmp $@

data/sfs-redcap.sqlite: data/record-barcodes.csv
	python3 bin/load-sqlite $< $@

.PHONY: all
