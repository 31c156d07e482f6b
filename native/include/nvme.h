/*
 * nvme.h: NVMe data structures and constants, written for Ferrum from the NVM Express Base
 * Specification 1.4 (controller registers: section 3.1; queue entries: 4.2 and 4.6; Identify:
 * figures 247 and 249; log pages: 5.14.1). All multi-byte fields are little endian.
 *
 * Each structure carries a _Static_assert of its size, so that a layout slip fails the
 * jextract run (clang) instead of producing bindings that disagree with the spec.
 */
#ifndef FERRUM_NVME_H
#define FERRUM_NVME_H

#include <stdint.h>

/* ---- Controller registers (BAR0), offsets in bytes ---- */
enum nvme_reg {
    NVME_REG_CAP    = 0x00,   /* Controller Capabilities, 64 bit */
    NVME_REG_VS     = 0x08,   /* Version */
    NVME_REG_INTMS  = 0x0c,   /* Interrupt Mask Set */
    NVME_REG_INTMC  = 0x10,   /* Interrupt Mask Clear */
    NVME_REG_CC     = 0x14,   /* Controller Configuration */
    NVME_REG_CSTS   = 0x1c,   /* Controller Status */
    NVME_REG_NSSR   = 0x20,   /* NVM Subsystem Reset */
    NVME_REG_AQA    = 0x24,   /* Admin Queue Attributes */
    NVME_REG_ASQ    = 0x28,   /* Admin Submission Queue Base Address, 64 bit */
    NVME_REG_ACQ    = 0x30,   /* Admin Completion Queue Base Address, 64 bit */
    NVME_REG_CMBLOC = 0x38,   /* Controller Memory Buffer Location */
    NVME_REG_CMBSZ  = 0x3c,   /* Controller Memory Buffer Size */
    NVME_REG_DBS    = 0x1000  /* first doorbell: SQ0 tail; stride is 4 << CAP.DSTRD */
};

/* ---- Admin command set opcodes (figure 139) ---- */
enum nvme_admin_opcode {
    NVME_ADMIN_DELETE_SQ      = 0x00,
    NVME_ADMIN_CREATE_SQ      = 0x01,
    NVME_ADMIN_GET_LOG_PAGE   = 0x02,
    NVME_ADMIN_DELETE_CQ      = 0x04,
    NVME_ADMIN_CREATE_CQ      = 0x05,
    NVME_ADMIN_IDENTIFY       = 0x06,
    NVME_ADMIN_ABORT          = 0x08,
    NVME_ADMIN_SET_FEATURES   = 0x09,
    NVME_ADMIN_GET_FEATURES   = 0x0a,
    NVME_ADMIN_ASYNC_EVENT    = 0x0c
};

/* ---- NVM command set opcodes (figure 346) ---- */
enum nvme_nvm_opcode {
    NVME_CMD_FLUSH         = 0x00,
    NVME_CMD_WRITE         = 0x01,
    NVME_CMD_READ          = 0x02,
    NVME_CMD_WRITE_ZEROES  = 0x08,
    NVME_CMD_DSM           = 0x09
};

/* ---- Identify CNS values (figure 244) ---- */
enum nvme_identify_cns {
    NVME_ID_CNS_NS           = 0x00,
    NVME_ID_CNS_CTRL         = 0x01,
    NVME_ID_CNS_NS_ACTIVE    = 0x02
};

/* ---- Feature identifiers (figure 271) ---- */
enum nvme_feature_id {
    NVME_FEAT_ARBITRATION      = 0x01,
    NVME_FEAT_POWER_MGMT       = 0x02,
    NVME_FEAT_TEMP_THRESH      = 0x04,
    NVME_FEAT_ERR_RECOVERY     = 0x05,
    NVME_FEAT_VOLATILE_WC      = 0x06,
    NVME_FEAT_NUM_QUEUES       = 0x07,
    NVME_FEAT_IRQ_COALESCE     = 0x08,
    NVME_FEAT_IRQ_CONFIG       = 0x09,
    NVME_FEAT_ASYNC_EVENT      = 0x0b
};

/* ---- Log page identifiers (figure 191) ---- */
enum nvme_log_id {
    NVME_LOG_ERROR    = 0x01,
    NVME_LOG_SMART    = 0x02,
    NVME_LOG_FW_SLOT  = 0x03
};

/* ---- Status code types (figure 125) ---- */
enum nvme_status_type {
    NVME_SCT_GENERIC        = 0x0,
    NVME_SCT_COMMAND        = 0x1,
    NVME_SCT_MEDIA          = 0x2,
    NVME_SCT_PATH           = 0x3,
    NVME_SCT_VENDOR         = 0x7
};

/*
 * Submission Queue Entry, 64 bytes (figure 105, common command format).
 * CDW0: opcode [7:0], fused [9:8], PSDT [15:14], command identifier [31:16].
 */
struct nvme_sqe {
    uint8_t  opc;
    uint8_t  flags;        /* FUSE [1:0], PSDT [7:6] */
    uint16_t cid;
    uint32_t nsid;
    uint32_t cdw2;
    uint32_t cdw3;
    uint64_t mptr;
    uint64_t prp1;         /* DPTR, PRP entry 1 */
    uint64_t prp2;         /* DPTR, PRP entry 2 or PRP list pointer */
    uint32_t cdw10;
    uint32_t cdw11;
    uint32_t cdw12;
    uint32_t cdw13;
    uint32_t cdw14;
    uint32_t cdw15;
};
_Static_assert(sizeof(struct nvme_sqe) == 64, "NVMe SQE is 64 bytes");

/*
 * Completion Queue Entry, 16 bytes (figure 121).
 * Status field: phase tag [0], status code [8:1], status code type [11:9],
 * command retry delay [13:12], more [14], do not retry [15].
 */
struct nvme_cqe {
    uint32_t dw0;          /* command specific */
    uint32_t dw1;          /* reserved */
    uint16_t sq_head;      /* SQ head pointer */
    uint16_t sq_id;        /* SQ identifier */
    uint16_t cid;          /* command identifier */
    uint16_t status;       /* phase tag and status field */
};
_Static_assert(sizeof(struct nvme_cqe) == 16, "NVMe CQE is 16 bytes");

/* Dataset Management range (figure 364), 16 bytes. */
struct nvme_dsm_range {
    uint32_t cattr;        /* context attributes */
    uint32_t nlb;          /* length in logical blocks */
    uint64_t slba;         /* starting LBA */
};
_Static_assert(sizeof(struct nvme_dsm_range) == 16, "DSM range is 16 bytes");

/* Power State Descriptor (figure 248), 32 bytes. */
struct nvme_power_state {
    uint16_t mp;           /* maximum power, centiwatts */
    uint8_t  rsvd2;
    uint8_t  flags;        /* MXPS [0], NOPS [1] */
    uint32_t enlat;        /* entry latency, us */
    uint32_t exlat;        /* exit latency, us */
    uint8_t  rrt;
    uint8_t  rrl;
    uint8_t  rwt;
    uint8_t  rwl;
    uint16_t idlp;
    uint8_t  ips;
    uint8_t  rsvd19;
    uint16_t actp;
    uint8_t  apws;
    uint8_t  rsvd23[9];
};
_Static_assert(sizeof(struct nvme_power_state) == 32, "power state descriptor is 32 bytes");

/* Identify Controller data structure (figure 247), 4096 bytes. */
struct nvme_id_ctrl {
    uint16_t vid;          /*   0 PCI vendor ID */
    uint16_t ssvid;        /*   2 PCI subsystem vendor ID */
    char     sn[20];       /*   4 serial number, ASCII, space padded */
    char     mn[40];       /*  24 model number */
    char     fr[8];        /*  64 firmware revision */
    uint8_t  rab;          /*  72 recommended arbitration burst */
    uint8_t  ieee[3];      /*  73 IEEE OUI */
    uint8_t  cmic;         /*  76 multi-path I/O and namespace sharing */
    uint8_t  mdts;         /*  77 maximum data transfer size, 2^n units of CAP.MPSMIN; 0 = no limit */
    uint16_t cntlid;       /*  78 controller ID */
    uint32_t ver;          /*  80 version */
    uint32_t rtd3r;        /*  84 RTD3 resume latency */
    uint32_t rtd3e;        /*  88 RTD3 entry latency */
    uint32_t oaes;         /*  92 optional asynchronous events supported */
    uint32_t ctratt;       /*  96 controller attributes */
    uint16_t rrls;         /* 100 read recovery levels supported */
    uint8_t  rsvd102[9];
    uint8_t  cntrltype;    /* 111 controller type */
    uint8_t  fguid[16];    /* 112 FRU globally unique identifier */
    uint16_t crdt1;        /* 128 command retry delay times */
    uint16_t crdt2;
    uint16_t crdt3;
    uint8_t  rsvd134[106];
    uint8_t  nvmemi[16];   /* 240 NVMe management interface */
    uint16_t oacs;         /* 256 optional admin command support */
    uint8_t  acl;          /* 258 abort command limit (0's based) */
    uint8_t  aerl;         /* 259 asynchronous event request limit (0's based) */
    uint8_t  frmw;         /* 260 firmware updates */
    uint8_t  lpa;          /* 261 log page attributes */
    uint8_t  elpe;         /* 262 error log page entries (0's based) */
    uint8_t  npss;         /* 263 number of power states support (0's based) */
    uint8_t  avscc;        /* 264 */
    uint8_t  apsta;        /* 265 */
    uint16_t wctemp;       /* 266 warning composite temperature threshold, K */
    uint16_t cctemp;       /* 268 critical composite temperature threshold, K */
    uint16_t mtfa;         /* 270 */
    uint32_t hmpre;        /* 272 */
    uint32_t hmmin;        /* 276 */
    uint8_t  tnvmcap[16];  /* 280 total NVM capacity, bytes (128 bit) */
    uint8_t  unvmcap[16];  /* 296 unallocated NVM capacity */
    uint32_t rpmbs;        /* 312 */
    uint16_t edstt;        /* 316 */
    uint8_t  dsto;         /* 318 */
    uint8_t  fwug;         /* 319 */
    uint16_t kas;          /* 320 keep alive support */
    uint16_t hctma;        /* 322 */
    uint16_t mntmt;        /* 324 */
    uint16_t mxtmt;        /* 326 */
    uint32_t sanicap;      /* 328 */
    uint32_t hmminds;      /* 332 */
    uint16_t hmmaxd;       /* 336 */
    uint16_t nsetidmax;    /* 338 */
    uint16_t endgidmax;    /* 340 */
    uint8_t  anatt;        /* 342 */
    uint8_t  anacap;       /* 343 */
    uint32_t anagrpmax;    /* 344 */
    uint32_t nanagrpid;    /* 348 */
    uint32_t pels;         /* 352 */
    uint8_t  rsvd356[156];
    uint8_t  sqes;         /* 512 SQ entry size: required [3:0], maximum [7:4], as 2^n */
    uint8_t  cqes;         /* 513 CQ entry size */
    uint16_t maxcmd;       /* 514 */
    uint32_t nn;           /* 516 number of namespaces (highest NSID) */
    uint16_t oncs;         /* 520 optional NVM command support */
    uint16_t fuses;        /* 522 */
    uint8_t  fna;          /* 524 format NVM attributes */
    uint8_t  vwc;          /* 525 volatile write cache */
    uint16_t awun;         /* 526 */
    uint16_t awupf;        /* 528 */
    uint8_t  nvscc;        /* 530 */
    uint8_t  nwpc;         /* 531 */
    uint16_t acwu;         /* 532 */
    uint8_t  rsvd534[2];
    uint32_t sgls;         /* 536 SGL support */
    uint32_t mnan;         /* 540 */
    uint8_t  rsvd544[224];
    char     subnqn[256];  /* 768 NVM subsystem NVMe qualified name */
    uint8_t  rsvd1024[768];
    uint8_t  nvmof[256];   /* 1792 NVMe over Fabrics */
    struct nvme_power_state psd[32]; /* 2048 power state descriptors */
    uint8_t  vs[1024];     /* 3072 vendor specific */
};
_Static_assert(sizeof(struct nvme_id_ctrl) == 4096, "Identify Controller is 4096 bytes");

/* ONCS bits (Identify Controller byte 520). */
enum nvme_oncs {
    NVME_ONCS_COMPARE       = 1 << 0,
    NVME_ONCS_WRITE_UNCOR   = 1 << 1,
    NVME_ONCS_DSM           = 1 << 2,
    NVME_ONCS_WRITE_ZEROES  = 1 << 3,
    NVME_ONCS_SAVE_FEATURES = 1 << 4,
    NVME_ONCS_RESERVATIONS  = 1 << 5,
    NVME_ONCS_TIMESTAMP     = 1 << 6
};

/* LBA Format data structure (figure 250), 4 bytes: MS [15:0], LBADS [23:16], RP [25:24]. */
struct nvme_lbaf {
    uint16_t ms;           /* metadata size */
    uint8_t  ds;           /* LBA data size, as 2^n; n >= 9 */
    uint8_t  rp;           /* relative performance [1:0] */
};
_Static_assert(sizeof(struct nvme_lbaf) == 4, "LBA format is 4 bytes");

/* Identify Namespace data structure (figure 249), 4096 bytes. */
struct nvme_id_ns {
    uint64_t nsze;         /*   0 namespace size, in logical blocks */
    uint64_t ncap;         /*   8 namespace capacity */
    uint64_t nuse;         /*  16 namespace utilization */
    uint8_t  nsfeat;       /*  24 */
    uint8_t  nlbaf;        /*  25 number of LBA formats (0's based) */
    uint8_t  flbas;        /*  26 formatted LBA size: format index [3:0] */
    uint8_t  mc;           /*  27 metadata capabilities */
    uint8_t  dpc;          /*  28 end-to-end data protection capabilities */
    uint8_t  dps;          /*  29 end-to-end data protection type settings */
    uint8_t  nmic;         /*  30 */
    uint8_t  rescap;       /*  31 */
    uint8_t  fpi;          /*  32 */
    uint8_t  dlfeat;       /*  33 deallocate logical block features */
    uint16_t nawun;        /*  34 */
    uint16_t nawupf;       /*  36 */
    uint16_t nacwu;        /*  38 */
    uint16_t nabsn;        /*  40 */
    uint16_t nabo;         /*  42 */
    uint16_t nabspf;       /*  44 */
    uint16_t noiob;        /*  46 namespace optimal I/O boundary */
    uint8_t  nvmcap[16];   /*  48 NVM capacity */
    uint16_t npwg;         /*  64 */
    uint16_t npwa;         /*  66 */
    uint16_t npdg;         /*  68 */
    uint16_t npda;         /*  70 */
    uint16_t nows;         /*  72 */
    uint8_t  rsvd74[18];
    uint32_t anagrpid;     /*  92 */
    uint8_t  rsvd96[3];
    uint8_t  nsattr;       /*  99 */
    uint16_t nvmsetid;     /* 100 */
    uint16_t endgid;       /* 102 */
    uint8_t  nguid[16];    /* 104 namespace globally unique identifier */
    uint8_t  eui64[8];     /* 120 IEEE extended unique identifier */
    struct nvme_lbaf lbaf[16]; /* 128 LBA formats 0..15 */
    uint8_t  rsvd192[192];
    uint8_t  vs[3712];     /* 384 vendor specific */
};
_Static_assert(sizeof(struct nvme_id_ns) == 4096, "Identify Namespace is 4096 bytes");

/* SMART / Health Information log page (figure 194), 512 bytes. 128-bit counters are little endian. */
struct nvme_smart_log {
    uint8_t  critical_warning;       /*   0 */
    uint16_t temperature;            /*   1 composite temperature, K (unaligned in the spec) */
    uint8_t  avail_spare;            /*   3 percent */
    uint8_t  spare_thresh;           /*   4 percent */
    uint8_t  percent_used;           /*   5 */
    uint8_t  endu_grp_crit_warn;     /*   6 */
    uint8_t  rsvd7[25];
    uint8_t  data_units_read[16];    /*  32 in thousands of 512-byte units */
    uint8_t  data_units_written[16]; /*  48 */
    uint8_t  host_reads[16];         /*  64 */
    uint8_t  host_writes[16];        /*  80 */
    uint8_t  ctrl_busy_time[16];     /*  96 minutes */
    uint8_t  power_cycles[16];       /* 112 */
    uint8_t  power_on_hours[16];     /* 128 */
    uint8_t  unsafe_shutdowns[16];   /* 144 */
    uint8_t  media_errors[16];       /* 160 */
    uint8_t  num_err_log_entries[16];/* 176 */
    uint32_t warning_temp_time;      /* 192 minutes */
    uint32_t critical_comp_time;     /* 196 minutes */
    uint16_t temp_sensor[8];         /* 200 K */
    uint8_t  rsvd216[296];
} __attribute__((packed));
_Static_assert(sizeof(struct nvme_smart_log) == 512, "SMART log is 512 bytes");

/* Error Information log entry (figure 193), 64 bytes. */
struct nvme_error_log {
    uint64_t error_count;            /*  0 */
    uint16_t sqid;                   /*  8 */
    uint16_t cmdid;                  /* 10 */
    uint16_t status_field;           /* 12 status [15:1] and phase [0] as in the CQE */
    uint16_t param_error_location;   /* 14 */
    uint64_t lba;                    /* 16 */
    uint32_t nsid;                   /* 24 */
    uint8_t  vs;                     /* 28 vendor specific information available */
    uint8_t  trtype;                 /* 29 */
    uint8_t  rsvd30[2];
    uint64_t cs;                     /* 32 command specific information */
    uint16_t trtype_spec_info;       /* 40 */
    uint8_t  rsvd42[22];
};
_Static_assert(sizeof(struct nvme_error_log) == 64, "error log entry is 64 bytes");

#endif /* FERRUM_NVME_H */
