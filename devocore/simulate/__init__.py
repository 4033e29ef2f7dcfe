"""Simulators with exact ground truth.

* :mod:`devocore.simulate.embryo`: a C. elegans embryo following the real
  lineage (Sulston names, cell-cycle lengths calibrated on EPIC tables), with
  renderers for time-lapses, nucleus slices and membrane images.
* :mod:`devocore.simulate.worm`: crawling worms on an agar plate.
"""
