/**
 * The CSUM-1 checksum accelerator simulated on the mock PCI bus: the device the example driver drives in tests
 * and in the guide.
 */
package dev.ferrum.example.checksum.model;
